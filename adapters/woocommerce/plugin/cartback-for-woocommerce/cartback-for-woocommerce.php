<?php
/**
 * Plugin Name:          cartback for WooCommerce
 * Plugin URI:           https://github.com/cartback/cartback
 * Description:          Sends carts to a cartback server, which reminds shoppers who left before paying, and restores their carts from the reminder's link.
 * Version:              1.2.1
 * Requires at least:    6.0
 * Requires PHP:         7.4
 * Requires Plugins:     woocommerce
 * WC requires at least: 8.0
 * Author:               The cartback authors
 * License:              GPL-2.0-or-later
 * License URI:          https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:          cartback-for-woocommerce
 * Domain Path:          /languages
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

define( 'CARTBACK_VERSION', '1.2.1' );
define( 'CARTBACK_FILE', __FILE__ );
define( 'CARTBACK_DIR', __DIR__ );

require_once CARTBACK_DIR . '/includes/class-cartback-settings.php';
require_once CARTBACK_DIR . '/includes/class-cartback-signer.php';
require_once CARTBACK_DIR . '/includes/class-cartback-client.php';
require_once CARTBACK_DIR . '/includes/class-cartback-capture.php';
require_once CARTBACK_DIR . '/includes/class-cartback-checkout.php';
require_once CARTBACK_DIR . '/includes/class-cartback-restore.php';
require_once CARTBACK_DIR . '/includes/class-cartback-coupons.php';
require_once CARTBACK_DIR . '/includes/class-cartback-webhooks.php';
require_once CARTBACK_DIR . '/includes/class-cartback-admin.php';
require_once CARTBACK_DIR . '/includes/class-cartback-plugin.php';

register_activation_hook( __FILE__, array( 'Cartback_Plugin', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'Cartback_Plugin', 'deactivate' ) );

add_action( 'plugins_loaded', array( 'Cartback_Plugin', 'boot' ) );
