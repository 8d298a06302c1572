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
	 * Whether the sidecar URL and the secret are both set, and the URL is
	 * one the plugin sends to (see sidecar_url_error()).
	 *
	 * @return bool
	 */
	public static function is_configured() {
		return '' !== self::sidecar_url() && '' !== self::secret() && '' === self::sidecar_url_error();
	}

	/**
	 * What is wrong with the sidecar URL, '' if nothing (or if it is not
	 * set). The events carry shoppers' names, addresses and carts, and the
	 * signed requests would be replayable off the wire, so the URL must be
	 * https; plain http is only accepted for a cartback on this machine
	 * (localhost or 127.0.0.1), for development.
	 *
	 * @return string
	 */
	public static function sidecar_url_error() {
		$url = self::sidecar_url();
		if ( '' === $url ) {
			return '';
		}
		$scheme = strtolower( (string) wp_parse_url( $url, PHP_URL_SCHEME ) );
		$host   = (string) wp_parse_url( $url, PHP_URL_HOST );
		if ( '' !== $host && ( 'https' === $scheme || ( 'http' === $scheme && self::is_local_url( $url ) ) ) ) {
			return '';
		}
		return __( 'The cartback URL must start with https:// (http:// is only accepted for localhost and 127.0.0.1, for development).', 'cartback-for-woocommerce' );
	}

	/**
	 * Whether a URL points at this machine by name or loopback address.
	 *
	 * @param string $url URL.
	 * @return bool
	 */
	public static function is_local_url( $url ) {
		$host = strtolower( (string) wp_parse_url( (string) $url, PHP_URL_HOST ) );
		return in_array( $host, array( 'localhost', '127.0.0.1' ), true );
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
