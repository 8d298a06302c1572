<?php
/**
 * Loads the stubs and the plugin.
 *
 * @package Cartback\Tests
 */

define( 'ABSPATH', __DIR__ . '/' );

require __DIR__ . '/stubs/wordpress.php';
require __DIR__ . '/stubs/woocommerce.php';
require __DIR__ . '/stubs/woocommerce-blocks.php';
require __DIR__ . '/../cartback-for-woocommerce/cartback-for-woocommerce.php';
require __DIR__ . '/CartbackTestCase.php';
