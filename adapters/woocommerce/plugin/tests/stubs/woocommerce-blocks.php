<?php
/**
 * Fakes of WooCommerce's additional checkout fields service (8.9+), which
 * keeps the fields' values as meta of the customer and the order.
 *
 * @package Cartback\Tests
 */

// phpcs:disable

namespace Automattic\WooCommerce\Blocks\Domain\Services;

class CheckoutFields {
	/** @var string[] Fields registered as checkboxes. */
	public static $checkboxes = array( 'cartback/email-consent', 'cartback/sms-consent' );

	/** As WooCommerce: '_wc_{group}/{key}' meta; a checkbox reads as a bool. */
	public function get_field_from_object( string $key, \WC_Data $wc_object, string $group = 'other' ) {
		$value = $wc_object->get_meta( '_wc_' . $group . '/' . $key, true );
		if ( in_array( $key, self::$checkboxes, true ) ) {
			return '1' === $value;
		}
		return null === $value ? '' : $value;
	}
}

namespace Automattic\WooCommerce\Blocks;

class Package {
	public static function container() {
		return new class() {
			public function get( $id ) {
				return new $id();
			}
		};
	}
}
