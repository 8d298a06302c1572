<?php
/**
 * cart.updated / cart.deleted capture.
 *
 * @package Cartback\Tests
 */

class CaptureTest extends CartbackTestCase {

	public function test_payload_follows_the_spec() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();

		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		list( $topic, $body, $headers, $args ) = $events[0];
		$this->assertSame( 'cart.updated', $topic );
		$this->assertFalse( $args['blocking'], 'the shopper must not wait for cartback' );
		$this->assertSame( 'application/json', $headers['Content-Type'] );
		$this->assertSame( 'https://store.example/', $headers['X-WC-Webhook-Source'] );
		$this->assertSame( base64_encode( hash_hmac( 'sha256', $body, self::SECRET, true ) ), $headers['X-WC-Webhook-Signature'] );
		$this->assertMatchesRegularExpression( '/^[0-9a-f]{32}$/', $headers['X-WC-Webhook-Delivery-ID'] );

		$p = json_decode( $body, true );
		$this->assertSame(
			array( 'cart_key', 'created_at', 'updated_at', 'currency', 'locale', 'customer', 'consent', 'items', 'totals', 'restore_url' ),
			array_keys( $p )
		);
		$this->assertSame( 't_contract0001', $p['cart_key'] );
		$this->assertSame( '2026-03-02T09:41:07+01:00', $p['created_at'] );
		$this->assertSame( '2026-03-02T09:58:31+01:00', $p['updated_at'] );
		$this->assertSame( 'NOK', $p['currency'] );
		$this->assertSame( 'nb_NO', $p['locale'] );
		$this->assertSame(
			array(
				'email'      => 'kari.nordmann@example.no',
				'phone'      => '912 34 567',
				'first_name' => 'Kari',
				'last_name'  => 'Nordmann',
				'country'    => 'NO',
			),
			$p['customer']
		);
		$this->assertSame(
			array(
				'email_marketing' => true,
				'sms_marketing'   => false,
			),
			$p['consent']
		);
		$this->assertSame(
			array(
				'product_id'    => 22,
				'variation_id'  => 23,
				'name'          => 'Ship Your Idea &ndash; Black, M',
				'sku'           => 'Bar3',
				'quantity'      => 2,
				'price'         => '249.00',
				'line_total'    => '498.00',
				'image_url'     => 'https://store.example/wp-content/uploads/2026/01/ship-your-idea-black.jpg',
				'product_url'   => 'https://store.example/product/ship-your-idea/?attribute_pa_color=black&attribute_size=M',
				'attributes'    => array(
					'attribute_pa_color' => 'black',
					'attribute_size'     => 'M',
				),
				// The name shows both options already.
				'variant_title' => '',
			),
			$p['items'][0]
		);
		$this->assertSame( '99.50', $p['items'][1]['price'] );
		$this->assertSame( '', $p['items'][1]['image_url'] );
		$this->assertStringContainsString( '"attributes":{}', $body, 'no attributes encode as an object' );
		$this->assertSame(
			array(
				'subtotal' => '597.50',
				'discount' => '50.00',
				'shipping' => '79.00',
				'tax'      => '125.30',
				'total'    => '626.50',
			),
			$p['totals']
		);
		// Money is never a JSON number.
		$this->assertDoesNotMatchRegularExpression( '/"(price|line_total|subtotal|discount|shipping|tax|total)":\d/', $body );
		$this->assertSame( 'https://store.example/', $p['restore_url'] );
	}

	/** Variations of product 22 whose names show none, one and both of their options. */
	private function fill_variations() {
		// WooCommerce names a variation of more than two attributes after
		// the product alone.
		WC_Fake_Catalog::$products[24] = new WC_Product(
			array(
				'id'        => 24,
				'parent_id' => 22,
				'name'      => 'Ship Your Idea',
				'price'     => 249.0,
			)
		);
		WC_Fake_Catalog::$products[25] = new WC_Product(
			array(
				'id'        => 25,
				'parent_id' => 22,
				'name'      => 'Ship Your Idea &ndash; Black',
				'price'     => 249.0,
			)
		);
		$cart = WC()->cart;
		$cart->add_to_cart(
			22,
			1,
			24,
			array(
				'attribute_pa_color' => 'dark-blue',
				'attribute_size'     => 'M',
				'attribute_fit'      => 'Slim',
			)
		);
		$cart->add_to_cart(
			22,
			1,
			25,
			array(
				'attribute_pa_color' => 'black',
				'attribute_size'     => 'XL',
			)
		);
		$cart->add_to_cart(
			22,
			2,
			23,
			array(
				'attribute_pa_color' => 'black',
				'attribute_size'     => 'M',
			)
		);
		$cart->add_to_cart( 93, 1 );
	}

	public function test_variant_title_names_the_options_the_name_lacks() {
		$this->fill_variations();
		$items = $this->capture()->build_payload()['items'];
		$this->assertSame( 'Color: Dark Blue, Size: M, Fit: Slim', $items[0]['variant_title'], 'labels and term names, not keys and slugs' );
		$this->assertSame(
			array(
				'attribute_pa_color' => 'dark-blue',
				'attribute_size'     => 'M',
				'attribute_fit'      => 'Slim',
			),
			$items[0]['attributes'],
			'the keys and slugs stay, for restoring the cart'
		);
		$this->assertSame( 'Size: XL', $items[1]['variant_title'], 'Black is in the name' );
		$this->assertSame( '', $items[2]['variant_title'], 'Black and M are in the name' );
		$this->assertSame( '', $items[3]['variant_title'], 'a simple product' );
	}

	public function test_variant_title_uses_the_shops_names() {
		$this->fill_variations();
		add_filter(
			'woocommerce_attribute_label',
			function ( $label ) {
				return 'Color' === $label ? 'Farge' : $label;
			}
		);
		add_filter(
			'woocommerce_variation_option_name',
			function ( $value ) {
				return 'M' === $value ? 'Medium' : $value;
			}
		);
		$items = $this->capture()->build_payload()['items'];
		$this->assertSame( 'Farge: Dark Blue, Size: Medium, Fit: Slim', $items[0]['variant_title'] );
	}

	public function test_prices_excluding_tax_and_zero_decimal_currency() {
		$this->fill_contract_cart();
		WC()->cart->prices_include_tax = false;
		update_option( 'woocommerce_price_num_decimals', 0 );
		$p = $this->capture()->build_payload();
		$this->assertSame( '199', $p['items'][0]['price'] ); // 398.40 / 2, rounded to whole units.
		$this->assertSame( '398', $p['items'][0]['line_total'] );
		$this->assertSame( '478', $p['totals']['subtotal'] );
		$this->assertSame( '627', $p['totals']['total'] );
	}

	public function test_guest_cart_key_is_the_session_customer_id() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$this->assertSame( 't_5f3c9a1e8d2b47c0a6e4f1b2c3d4e5f6', $capture->cart_key() );
		$this->assertSame( 't_5f3c9a1e8d2b47c0a6e4f1b2c3d4e5f6', $capture->cart_key(), 'stable' );
	}

	public function test_logged_in_customer_gets_a_random_cart_key() {
		WC()->session->customer_id = '7';
		$key = $this->capture()->cart_key();
		$this->assertMatchesRegularExpression( '/^t_[0-9a-f]{32}$/', $key );
	}

	public function test_anonymous_cart_is_not_sent() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 0, $this->sent_events() );
	}

	public function test_logged_in_customer_is_identified() {
		CB_Stub::$logged_in = true;
		WC()->customer->set_email( 'ola@example.no' );
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'ola@example.no', json_decode( $events[0][1], true )['customer']['email'] );
	}

	public function test_classic_checkout_posted_data_identifies_the_shopper() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->capture_posted_data( 'billing_first_name=Kari&billing_last_name=Nordmann&billing_email=kari%40example.no&billing_phone=&billing_country=NO&cartback_sms_consent=1' );
		$capture->flush();
		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$p = json_decode( $events[0][1], true );
		$this->assertSame( 'kari@example.no', $p['customer']['email'] );
		$this->assertSame( 'Kari', $p['customer']['first_name'] );
		$this->assertSame( 'NO', $p['customer']['country'] );
		$this->assertTrue( $p['consent']['sms_marketing'] );
		$this->assertFalse( $p['consent']['email_marketing'] );
	}

	public function test_invalid_email_does_not_identify() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->capture_posted_data( 'billing_email=kari%40' );
		$capture->flush();
		$this->assertCount( 0, $this->sent_events() );
	}

	public function test_phone_alone_identifies() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->capture_posted_data( 'billing_phone=%2B47+912+34+567' );
		$capture->flush();
		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$this->assertSame( '+47 912 34 567', json_decode( $events[0][1], true )['customer']['phone'] );
	}

	public function test_block_checkout_store_api_customer() {
		WC()->cart->add_to_cart( 93, 1 );
		$customer = new WC_Customer();
		$customer->set_billing_email( 'kari@example.no' );
		$customer->set_billing_first_name( 'Kari' );
		$request = new WP_REST_Request( 'POST', '/wc/store/v1/cart/update-customer' );
		$request->set_param( 'additional_fields', array( 'cartback/email-consent' => true ) );

		$capture = $this->capture();
		$capture->register();
		do_action( 'woocommerce_store_api_cart_update_customer_from_request', $customer, $request );
		do_action( 'shutdown' );

		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$p = json_decode( $events[0][1], true );
		$this->assertSame( 'kari@example.no', $p['customer']['email'] );
		$this->assertTrue( $p['consent']['email_marketing'] );
		$this->assertFalse( $p['consent']['sms_marketing'] );
	}

	public function test_consent_needs_the_checkbox_to_be_shown() {
		update_option( Cartback_Settings::SMS_CONSENT_LABEL, '' );
		$this->fill_contract_cart();
		WC()->session->set(
			Cartback_Capture::S_CONSENT,
			array(
				'email' => true,
				'sms'   => true,
			)
		);
		$this->assertFalse( $this->capture()->build_payload()['consent']['sms_marketing'] );
	}

	/**
	 * @dataProvider bot_agents
	 */
	public function test_bots_are_skipped( $agent ) {
		$this->fill_contract_cart();
		$_SERVER['HTTP_USER_AGENT'] = $agent;
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 0, $this->sent_events() );
	}

	public function bot_agents() {
		return array(
			'googlebot' => array( 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' ),
			'bingbot'   => array( 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)' ),
			'slurp'     => array( 'Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)' ),
			'facebook'  => array( 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)' ),
			'spider'    => array( 'Baiduspider+(+http://www.baidu.com/search/spider.htm)' ),
			'headless'  => array( 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36' ),
			'curl'      => array( 'curl/8.5.0' ),
			'empty'     => array( '' ),
		);
	}

	public function test_no_javascript_evidence_is_skipped() {
		$this->fill_contract_cart();
		unset( $_COOKIE['cartback_js'] );
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 0, $this->sent_events() );

		$_GET['wc-ajax'] = 'update_order_review';
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 1, $this->sent_events(), 'a WooCommerce AJAX request is a browser' );
	}

	public function test_no_session_is_skipped() {
		$this->fill_contract_cart();
		WC()->session->has_session = false;
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 0, $this->sent_events() );
	}

	public function test_nothing_is_sent_without_a_change() {
		$this->fill_contract_cart();
		$this->capture()->flush();
		$this->assertCount( 0, $this->sent_events() );
	}

	public function test_a_cart_changed_back_within_a_second_is_not_a_resend() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$keys    = array_keys( WC()->cart->get_cart() );
		$this->assertTrue( $capture->send_update() );
		WC()->cart->set_quantity( $keys[1], 3 );
		$this->assertTrue( $capture->send_update() );
		WC()->cart->set_quantity( $keys[1], 1 );
		$this->assertTrue( $capture->send_update() );
		$events = $this->sent_events();
		$this->assertCount( 3, $events );
		$this->assertSame( $events[0][1], $events[2][1], 'the same cart at the same second' );
		$ids = array_map(
			function ( $e ) {
				return $e[2]['X-WC-Webhook-Delivery-ID'];
			},
			$events
		);
		$this->assertCount( 3, array_unique( $ids ), 'cartback must not drop the last change as a duplicate of the first' );
	}

	public function test_debounce() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$this->assertTrue( $capture->send_update() );
		$this->now += 10;
		$this->assertFalse( $capture->send_update(), 'same cart within 30 s' );
		$this->now += 25;
		$this->assertTrue( $capture->send_update(), 'same cart after 30 s' );
		$events = $this->sent_events();
		$this->assertCount( 2, $events );
		$this->assertSame( $events[0][1], $events[1][1], 'unchanged cart keeps its updated_at' );
		$this->assertSame( $events[0][2]['X-WC-Webhook-Delivery-ID'], $events[1][2]['X-WC-Webhook-Delivery-ID'] );

		// A change goes out at once, with the time of the change.
		$this->now += 1;
		$keys = array_keys( WC()->cart->get_cart() );
		WC()->cart->set_quantity( $keys[1], 3 );
		$this->assertTrue( $capture->send_update() );
		$events = $this->sent_events();
		$this->assertCount( 3, $events );
		$p = json_decode( $events[2][1], true );
		$this->assertSame( 3, $p['items'][1]['quantity'] );
		$this->assertSame( '298.50', $p['items'][1]['line_total'] );
		$this->assertSame( wp_date( 'Y-m-d\TH:i:sP', $this->now ), $p['updated_at'] );
		$this->assertSame( '2026-03-02T09:41:07+01:00', $p['created_at'] );
	}

	public function test_hooks_mark_the_cart_and_shutdown_sends_once() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->register();
		do_action( 'woocommerce_cart_updated' );
		do_action( 'woocommerce_cart_updated' );
		do_action( 'shutdown' );
		do_action( 'woocommerce_cart_updated' );
		do_action( 'shutdown' );
		$this->assertCount( 1, $this->sent_events() );
	}

	public function test_emptied_cart_sends_cart_deleted() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->register();
		$capture->send_update();
		$this->now += 60;
		WC()->cart->empty_cart();
		do_action( 'shutdown' );

		$events = $this->sent_events();
		$this->assertCount( 2, $events );
		$this->assertSame( 'cart.deleted', $events[1][0] );
		$this->assertSame( '{"cart_key":"t_contract0001","updated_at":"2026-03-02T09:59:31+01:00"}', $events[1][1] );
		$this->assertSame( base64_encode( hash_hmac( 'sha256', $events[1][1], self::SECRET, true ) ), $events[1][2]['X-WC-Webhook-Signature'] );
		$this->assertNull( WC()->session->get( Cartback_Capture::S_CART_KEY ), 'the next cart gets a new key' );

		// The next cart of the session does not reuse the deleted cart's key.
		WC()->cart->add_to_cart( 93, 1 );
		$this->assertNotSame( 't_contract0001', $capture->cart_key() );
	}

	public function test_emptied_cart_that_was_never_sent_sends_nothing() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->register();
		WC()->cart->empty_cart();
		do_action( 'shutdown' );
		$this->assertCount( 0, $this->sent_events() );
	}

	public function test_cart_emptied_by_an_order_sends_nothing() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->register();
		$capture->send_update();
		$capture->mark_ordered( 723 );
		WC()->cart->empty_cart();
		do_action( 'shutdown' );
		$this->assertCount( 1, $this->sent_events() );
		$this->assertNotSame( 't_contract0001', $capture->cart_key(), 'a bought cart\'s key is not reused' );
	}

	public function test_not_configured_sends_nothing() {
		update_option( Cartback_Settings::SECRET, '' );
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 0, CB_Stub::$remote_calls );
	}
}
