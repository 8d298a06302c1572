<?php
/**
 * Shared set-up: a configured plugin, a shopper's browser and the contract
 * cart.
 *
 * @package Cartback\Tests
 */

use PHPUnit\Framework\TestCase;

abstract class CartbackTestCase extends TestCase {

	const SECRET  = 'woo-shop-secret-0123456789';
	const SIDECAR = 'https://cartback.example';

	/** 2026-03-02T09:41:07+01:00 */
	const CREATED = 1772440867;
	/** 2026-03-02T09:58:31+01:00 */
	const UPDATED = 1772441911;

	/** @var int What the plugin's clock says. */
	protected $now = self::UPDATED;

	protected function setUp(): void {
		CB_Stub::reset();
		WC_Fake_Catalog::reset();
		WC_Cart::$valid_coupons = array();
		update_option( Cartback_Settings::SIDECAR_URL, self::SIDECAR . '/' );
		update_option( Cartback_Settings::SECRET, self::SECRET );
		update_option( Cartback_Settings::EMAIL_CONSENT_LABEL, 'Email me offers' );
		update_option( Cartback_Settings::SMS_CONSENT_LABEL, 'Text me a reminder about my cart' );
		$_SERVER['HTTP_USER_AGENT'] = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15';
		$_COOKIE['cartback_js']     = '1';
		// As Cartback_Plugin::boot() does on every request.
		( new Cartback_Client() )->register();
		$this->add_catalog();
	}

	protected function clock() {
		return function () {
			return $this->now;
		};
	}

	protected function capture() {
		return new Cartback_Capture( new Cartback_Client(), $this->clock() );
	}

	/** The products of docs/woocommerce-events.md's example. */
	protected function add_catalog() {
		CB_Stub::$attachments[41] = 'https://store.example/wp-content/uploads/2026/01/ship-your-idea-black.jpg';
		// Colour is a global attribute (taxonomy pa_color), size the
		// product's own.
		CB_Stub::$terms['pa_color'] = array(
			'black'     => 'Black',
			'dark-blue' => 'Dark Blue',
		);
		WC_Fake_Catalog::$attribute_labels['pa_color'] = 'Color';

		WC_Fake_Catalog::$products[22] = new WC_Product(
			array(
				'id'         => 22,
				'name'       => 'Ship Your Idea',
				'price'      => 249.0,
				'tax_rate'   => 0.25,
				'image_id'   => 41,
				'permalink'  => 'https://store.example/product/ship-your-idea/',
				'attributes' => array(
					'size' => 'Size',
					'fit'  => 'Fit',
				),
			)
		);
		WC_Fake_Catalog::$products[23] = new WC_Product(
			array(
				'id'        => 23,
				'parent_id' => 22,
				'name'      => 'Ship Your Idea &ndash; Black, M',
				'sku'       => 'Bar3',
				'price'     => 249.0,
				'tax_rate'  => 0.25,
				'image_id'  => 41,
				'permalink' => 'https://store.example/product/ship-your-idea/',
			)
		);
		WC_Fake_Catalog::$products[93] = new WC_Product(
			array(
				'id'        => 93,
				'name'      => 'Woo Single #1',
				'price'     => 99.5,
				'tax_rate'  => 0.25,
				'permalink' => 'https://store.example/product/woo-single-1/',
			)
		);
	}

	/** Fills the session with the contract cart of Kari Nordmann. */
	protected function fill_contract_cart() {
		$wc = WC();
		$wc->cart->add_to_cart(
			22,
			2,
			23,
			array(
				'attribute_pa_color' => 'black',
				'attribute_size'     => 'M',
			)
		);
		$wc->cart->add_to_cart( 93, 1 );
		$wc->cart->totals = array(
			'subtotal'     => 478.00,
			'subtotal_tax' => 119.50,
			'discount'     => 40.00,
			'discount_tax' => 10.00,
			'shipping'     => 63.20,
			'shipping_tax' => 15.80,
			'total_tax'    => 125.30,
			'total'        => 626.50,
		);
		$wc->customer->set_billing_email( 'kari.nordmann@example.no' );
		$wc->customer->set_billing_phone( '912 34 567' );
		$wc->customer->set_billing_first_name( 'Kari' );
		$wc->customer->set_billing_last_name( 'Nordmann' );
		$wc->customer->set_billing_country( 'NO' );
		$wc->session->set( Cartback_Capture::S_CART_KEY, 't_contract0001' );
		$wc->session->set( Cartback_Capture::S_CREATED_AT, self::CREATED );
		$wc->session->set(
			Cartback_Capture::S_CONSENT,
			array(
				'email' => true,
				'sms'   => false,
			)
		);
	}

	/** The cart events sent so far, as [topic, body, headers]. */
	protected function sent_events() {
		$events = array();
		foreach ( CB_Stub::$remote_calls as $call ) {
			if ( 'POST' === $call['method'] && self::SIDECAR . '/webhooks/woocommerce' === $call['url'] ) {
				$events[] = array( $call['args']['headers']['X-WC-Webhook-Topic'], $call['args']['body'], $call['args']['headers'], $call['args'] );
			}
		}
		return $events;
	}

	protected static function contract_dir() {
		return dirname( __DIR__, 2 ) . '/testdata/contract';
	}
}
