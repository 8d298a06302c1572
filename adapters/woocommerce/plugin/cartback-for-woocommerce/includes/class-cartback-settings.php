<?php
/**
 * The plugin's options.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

/**
 * Reads the options the settings page saves.
 */
class Cartback_Settings {

	const SIDECAR_URL         = 'cartback_sidecar_url';
	const SECRET              = 'cartback_secret';
	const SMS_CONSENT_LABEL   = 'cartback_sms_consent_label';
	const EMAIL_CONSENT_LABEL = 'cartback_email_consent_label';
	const EMAIL_NOTICE        = 'cartback_email_notice';
	const CONNECTED           = 'cartback_connected';

	/**
	 * Every option the plugin stores, for uninstall.php.
	 *
	 * @return string[]
	 */
	public static function option_names() {
		return array(
			self::SIDECAR_URL,
			self::SECRET,
			self::SMS_CONSENT_LABEL,
			self::EMAIL_CONSENT_LABEL,
			self::EMAIL_NOTICE,
			self::CONNECTED,
		);
	}

	/**
	 * The cartback server's base URL, without a trailing slash.
	 *
	 * @return string
	 */
	public static function sidecar_url() {
		return rtrim( trim( (string) get_option( self::SIDECAR_URL, '' ) ), '/' );
	}

	/**
	 * The shop's webhook secret, shared with cartback.
	 *
	 * @return string
	 */
	public static function secret() {
		return trim( (string) get_option( self::SECRET, '' ) );
	}

	/**
	 * Whether the sidecar URL and the secret are both set.
	 *
	 * @return bool
	 */
	public static function is_configured() {
		return '' !== self::sidecar_url() && '' !== self::secret();
	}

	/**
	 * Label of the SMS consent checkbox; '' shows no checkbox.
	 *
	 * @return string
	 */
	public static function sms_consent_label() {
		return trim( (string) get_option( self::SMS_CONSENT_LABEL, '' ) );
	}

	/**
	 * Label of the marketing email checkbox; '' shows no checkbox.
	 *
	 * @return string
	 */
	public static function email_consent_label() {
		return trim( (string) get_option( self::EMAIL_CONSENT_LABEL, '' ) );
	}

	/**
	 * Notice shown under the checkout's email field; '' shows none.
	 *
	 * @return string
	 */
	public static function email_notice() {
		return trim( (string) get_option( self::EMAIL_NOTICE, '' ) );
	}

	/**
	 * The URL WooCommerce's order webhooks and the cart events go to.
	 *
	 * @return string
	 */
	public static function webhook_url() {
		return self::sidecar_url() . '/webhooks/woocommerce';
	}

	/**
	 * The shop's home URL with a trailing slash, which names the shop to
	 * cartback.
	 *
	 * @return string
	 */
	public static function store_url() {
		return home_url( '/' );
	}
}
