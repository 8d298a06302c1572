<?php
/**
 * Removes the plugin's settings when it is deleted.
 *
 * Coupons the plugin created stay: orders may refer to them.
 *
 * @package Cartback
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

require_once __DIR__ . '/includes/class-cartback-settings.php';

foreach ( Cartback_Settings::option_names() as $cartback_option ) {
	delete_option( $cartback_option );
}
wp_clear_scheduled_hook( 'cartback_delete_expired_coupons' );
