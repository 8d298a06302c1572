<?php
/**
 * Wiring.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Creates the plugin's parts and hooks them in.
 */
class Cartback_Plugin {

	/**
	 * Starts the plugin once all plugins are loaded.
	 *
	 * @return void
	 */
	public static function boot() {
		load_plugin_textdomain( 'cartback-for-woocommerce', false, dirname( plugin_basename( CARTBACK_FILE ) ) . '/languages' );
		if ( ! class_exists( 'WooCommerce' ) ) {
			add_action( 'admin_notices', array( __CLASS__, 'missing_woocommerce_notice' ) );
			return;
		}
		add_action(
			'before_woocommerce_init',
			function () {
				if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
					\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', CARTBACK_FILE, true );
					\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', CARTBACK_FILE, true );
				}
			}
		);

		$client = new Cartback_Client();
		// The retry of cart events, and the cartback URL let through the
		// safe HTTP functions on every request, not only around the
		// plugin's own: WooCommerce's order webhooks go there too.
		$client->register();
		$capture = new Cartback_Capture( $client );
		$capture->register();
		( new Cartback_Checkout( $capture ) )->register();
		( new Cartback_Restore( $client, $capture ) )->register();
		( new Cartback_Coupons() )->register();
		if ( is_admin() ) {
			( new Cartback_Admin( $client, new Cartback_Webhooks() ) )->register();
		}
		add_action( 'wp_enqueue_scripts', array( __CLASS__, 'enqueue_script' ) );
		add_action( 'init', array( 'Cartback_Coupons', 'schedule' ) );
	}

	/**
	 * The small script that tells browsers from bots and, on the classic
	 * checkout, updates the order review when the email or phone changes.
	 *
	 * @return void
	 */
	public static function enqueue_script() {
		if ( ! Cartback_Settings::is_configured() ) {
			return;
		}
		wp_enqueue_script( 'cartback', plugins_url( 'assets/cartback.js', CARTBACK_FILE ), array(), CARTBACK_VERSION, true );
	}

	/**
	 * Shown when WooCommerce is not active.
	 *
	 * @return void
	 */
	public static function missing_woocommerce_notice() {
		echo '<div class="notice notice-error"><p>' . esc_html__( 'cartback for WooCommerce needs WooCommerce to be active.', 'cartback-for-woocommerce' ) . '</p></div>';
	}

	/**
	 * Activation: schedules the coupon clean-up.
	 *
	 * @return void
	 */
	public static function activate() {
		Cartback_Coupons::schedule();
		Cartback_Webhooks::set_connected_status( 'active' );
	}

	/**
	 * Deactivation: stops the coupon clean-up and pauses the order
	 * webhooks, so that a deactivated plugin sends cartback nothing more.
	 *
	 * @return void
	 */
	public static function deactivate() {
		Cartback_Coupons::unschedule();
		Cartback_Webhooks::set_connected_status( 'paused' );
	}
}
