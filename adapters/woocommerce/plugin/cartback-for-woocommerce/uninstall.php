<?php
/**
 * Removes the plugin's settings and its order webhooks when it is deleted.
 *
 * Coupons the plugin created stay: orders may refer to them.
 *
 * @package Cartback
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

require_once __DIR__ . '/includes/class-cartback-settings.php';
require_once __DIR__ . '/includes/class-cartback-webhooks.php';

// The order webhooks Connect made go too: a deleted plugin leaves nothing
// sending shoppers' orders to cartback.
Cartback_Webhooks::delete_connected();

foreach ( Cartback_Settings::option_names() as $cartback_option ) {
	delete_option( $cartback_option );
}
wp_clear_scheduled_hook( 'cartback_delete_expired_coupons' );
// Retries still waiting: without the plugin they would send nothing, but
// they would sit in Action Scheduler's table. Their events' transients
// expire within the hour.
if ( function_exists( 'as_unschedule_all_actions' ) ) {
	as_unschedule_all_actions( 'cartback_retry_event' ); // with args given, only those exact args would go
}
