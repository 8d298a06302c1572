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

	public function test_block_checkout_consent_stored_on_the_customer() {
		WC()->cart->add_to_cart( 93, 1 );
		// The update-customer request carries addresses only; WooCommerce
		// keeps the contact fields on the customer.
		$customer = WC()->customer;
		$customer->set_billing_email( 'kari@example.no' );
		$customer->update_meta_data( '_wc_other/cartback/sms-consent', '1' );
		$customer->update_meta_data( '_wc_other/cartback/email-consent', '0' );
		$request = new WP_REST_Request( 'POST', '/wc/store/v1/cart/update-customer' );

		$capture = $this->capture();
		$capture->register();
		do_action( 'woocommerce_store_api_cart_update_customer_from_request', $customer, $request );
		do_action( 'shutdown' );

		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$p = json_decode( $events[0][1], true );
		$this->assertTrue( $p['consent']['sms_marketing'] );
		$this->assertFalse( $p['consent']['email_marketing'] );
	}

	public function test_unstored_block_field_keeps_the_consent_recorded() {
		WC()->cart->add_to_cart( 93, 1 );
		WC()->customer->set_billing_email( 'kari@example.no' );
		// Ticked on the checkout, recorded from its request; not (yet)
		// stored on the guest's customer.
		WC()->session->set(
			Cartback_Capture::S_CONSENT,
			array(
				'email' => true,
				'sms'   => false,
			)
		);
		$capture = $this->capture();
		$capture->capture_store_api_customer( WC()->customer, new WP_REST_Request( 'POST', '/wc/store/v1/cart/update-customer' ) );
		$capture->flush();
		$p = json_decode( $this->sent_events()[0][1], true );
		$this->assertTrue( $p['consent']['email_marketing'] );
	}

	public function test_typed_backslash_is_kept() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		// WooCommerce hands over post_data already unslashed.
		$capture->capture_posted_data( 'billing_first_name=Kari%5CAnne&billing_last_name=O%27Neil&billing_email=kari%40example.no' );
		$capture->flush();
		$p = json_decode( $this->sent_events()[0][1], true );
		$this->assertSame( 'Kari\\Anne', $p['customer']['first_name'] );
		$this->assertSame( "O'Neil", $p['customer']['last_name'] );
	}

	/**
	 * @dataProvider switched_currencies
	 */
	public function test_switched_currency_uses_its_own_minor_unit( $currency, $price, $total ) {
		$this->fill_contract_cart();
		// A multi-currency plugin shows the NOK shop in another currency.
		add_filter(
			'woocommerce_currency',
			function () use ( $currency ) {
				return $currency;
			}
		);
		$p = $this->capture()->build_payload();
		$this->assertSame( $currency, $p['currency'] );
		$this->assertSame( $price, $p['items'][0]['price'] );
		$this->assertSame( $total, $p['totals']['total'] );
	}

	public function switched_currencies() {
		return array(
			'yen'   => array( 'JPY', '249', '627' ),
			'dinar' => array( 'KWD', '249.000', '626.500' ),
			'euro'  => array( 'EUR', '249.00', '626.50' ),
		);
	}

	public function test_shop_currency_keeps_the_shops_decimals() {
		$this->fill_contract_cart();
		update_option( 'woocommerce_price_num_decimals', 3 );
		add_filter(
			'woocommerce_currency',
			function ( $currency ) {
				return $currency;
			}
		);
		$this->assertSame( '249.000', $this->capture()->build_payload()['items'][0]['price'] );
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
		$this->flush_cart_of( $agent );
		$this->assertCount( 0, $this->sent_events() );
	}

	/**
	 * A changed cart at the end of a request from a browser with agent.
	 *
	 * @param string $agent User-Agent header.
	 */
	private function flush_cart_of( $agent ) {
		$this->fill_contract_cart();
		$_SERVER['HTTP_USER_AGENT'] = $agent;
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
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
			'googlebot smartphone' => array( 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' ),
			'facebook catalog'     => array( 'facebookcatalog/1.0' ),
			'slackbot links'       => array( 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' ),
			'slackbot'             => array( 'Slackbot 1.0 (+https://api.slack.com/robots)' ),
			'twitterbot'           => array( 'Twitterbot/1.0' ),
			'ahrefs'               => array( 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)' ),
			'duckduckbot'          => array( 'DuckDuckBot-Https/1.1; (+https://duckduckgo.com/duckduckbot)' ),
			'python'               => array( 'python-requests/2.31.0' ),
			'googlebot image'      => array( 'Googlebot-Image/1.0' ),
			'storebot'             => array( 'Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.216 Safari/537.36' ),
			'inspection tool'      => array( 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; Google-InspectionTool/1.0;)' ),
			'google other'         => array( 'GoogleOther' ),
			'google other mobile'  => array( 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; GoogleOther)' ),
			'telegram'             => array( 'TelegramBot (like TwitterBot)' ),
			'whatsapp android'     => array( 'WhatsApp/2.23.20.0 A' ),
			'whatsapp ios'         => array( 'WhatsApp/2.24.2.76 i' ),
			'python urllib'        => array( 'Python-urllib/3.11' ),
			'okhttp'               => array( 'okhttp/4.12.0' ),
			'axios'                => array( 'axios/1.6.7' ),
			'node-fetch'           => array( 'node-fetch' ),
			'node-fetch 2'         => array( 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)' ),
		);
	}

	/**
	 * @dataProvider shopper_agents
	 */
	public function test_shoppers_are_not_bots( $agent ) {
		$this->assertFalse( Cartback_Capture::is_crawler( $agent ) );
		$this->flush_cart_of( $agent );
		$this->assertCount( 1, $this->sent_events() );
	}

	public function shopper_agents() {
		return array(
			// Cubot phones name their brand in capitals, with or without an underscore.
			'cubot'        => array( 'Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.210 Mobile Safari/537.36' ),
			'cubot build'  => array( 'Mozilla/5.0 (Linux; Android 9; CUBOT P30 Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.193 Mobile Safari/537.36' ),
			'cubot note'   => array( 'Mozilla/5.0 (Linux; Android 11; Cubot_Note_20) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.111 Mobile Safari/537.36' ),
			'iphone'       => array( 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1' ),
			// Words the old pattern took for bots.
			'monitor app'  => array( 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36 MonitorOS/2.1' ),
			'edge preview' => array( 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0 Preview' ),
			'edge'         => array( 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51' ),
			// In-app browsers of social apps, where shoppers open shared products.
			'facebook ios'     => array( 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.38.111;FBBV/546427711;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/547829498]' ),
			'facebook android' => array( 'Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/452.0.0.40.109;]' ),
			'instagram'        => array( 'Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36 Instagram 319.0.0.40.109 Android (34/14; 480dpi; 1080x2340; samsung; SM-S918B; dm3q; qcom; en_US; 572356386)' ),
			'instagram ios'    => array( 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.2.18.108 (iPhone14,5; iOS 17_1_2; en_US; en; scale=3.00; 1170x2532; 540880148)' ),
			'pinterest'        => array( 'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 [Pinterest/Android]' ),
			'pinterest ios'    => array( 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]' ),
			'miui'             => array( 'Mozilla/5.0 (Linux; U; Android 12; en-gb; 2201117TG Build/SKQ1.211006.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.5.0-gn' ),
			'cubot underscore' => array( 'Mozilla/5.0 (Linux; Android 12; CUBOT_KINGKONG_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.101 Mobile Safari/537.36' ),
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

	public function test_unchanged_cart_is_resent_at_most_every_ten_minutes() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$this->assertTrue( $capture->send_update() );
		$this->now += 35;
		$this->assertFalse( $capture->send_update(), 'not on every page view' );
		$this->now += 9 * 60;
		$this->assertFalse( $capture->send_update(), 'same cart within 10 minutes' );
		$this->now += 30;
		$this->assertTrue( $capture->send_update(), 'the heartbeat after 10 minutes' );
		$events = $this->sent_events();
		$this->assertCount( 2, $events );
		$this->assertSame( $events[0][1], $events[1][1], 'unchanged cart keeps its updated_at' );
		$this->assertSame( $events[0][2]['X-WC-Webhook-Delivery-ID'], $events[1][2]['X-WC-Webhook-Delivery-ID'], 'a resend, with the same delivery id' );

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

	public function test_events_go_out_after_the_session_is_saved_and_the_response_finished() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->register();
		// WooCommerce saves the session at shutdown, priority 20.
		$at_save = null;
		add_action(
			'shutdown',
			function () use ( &$at_save ) {
				$at_save = array(
					'sent' => count( CB_Stub::$remote_calls ),
					'hash' => WC()->session->get( Cartback_Capture::S_HASH ),
				);
			},
			20
		);
		do_action( 'woocommerce_cart_updated' );
		do_action( 'shutdown' );

		$this->assertSame( 0, $at_save['sent'], 'nothing goes out before the session is saved' );
		$this->assertNotEmpty( $at_save['hash'], 'the session saved records the event' );
		$this->assertCount( 1, CB_Stub::$remote_calls );
		$call = CB_Stub::$remote_calls[0];
		$this->assertSame( 1, $call['finished'], 'the response is finished before the event is sent' );
		$this->assertSame( 1, CB_Stub::$finished, 'once' );
		$this->assertTrue( CB_Stub::$abort_ignored_at_finish, 'the script goes on once the shopper\'s connection is closed' );
		$this->assertTrue( $call['args']['blocking'], 'nobody waits any more: the answer tells whether the event arrived' );
		$this->assertSame( 5, $call['args']['timeout'], 'a slow cartback holds the PHP worker 5 s at most' );
		$this->assertTrue( $call['safe'], 'wp_safe_remote_post()' );
		$this->assertSame( array(), CB_Stub::$actions, 'delivered: no retry' );
	}

	/** Makes cartback's webhook answer with a status, or fail with a WP_Error. */
	private function cartback_answers( $answer ) {
		CB_Stub::$remote_handler = function () use ( $answer ) {
			if ( $answer instanceof WP_Error ) {
				return $answer;
			}
			return array(
				'response' => array( 'code' => $answer ),
				'body'     => '{}',
			);
		};
	}

	/** Sends the contract cart as a request's shutdown does. */
	private function send_on_shutdown() {
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->register();
		do_action( 'woocommerce_cart_updated' );
		do_action( 'shutdown' );
	}

	/**
	 * @dataProvider temporary_failures
	 */
	public function test_an_event_that_failed_is_sent_once_more_a_minute_later( $answer ) {
		$this->cartback_answers( $answer );
		$this->send_on_shutdown();

		$this->assertCount( 1, $this->sent_events() );
		$this->assertCount( 1, CB_Stub::$actions, 'one retry' );
		$action = CB_Stub::$actions[0];
		$this->assertSame( 'cartback_retry_event', $action['hook'] );
		$this->assertSame( 'cartback', $action['group'] );
		$this->assertEqualsWithDelta( time() + 60, $action['timestamp'], 5 );
		list( $topic, $body, $headers ) = $this->sent_events()[0];
		// The action names only where the event waits: nothing about the
		// shopper in Action Scheduler's table.
		$this->assertCount( 1, $action['args'] );
		$this->assertStringStartsWith( 'cartback_retry_', $action['args'][0] );
		$this->assertStringNotContainsString( '@', wp_json_encode( $action['args'] ) );
		$this->assertSame( array( $topic, $body, WC()->session->get( Cartback_Capture::S_REVISION ) ), get_transient( $action['args'][0] ) );

		// Action Scheduler runs it: the same event, signed, waiting for the answer.
		$this->assertSame( 1, cb_stub_run_actions() );
		$events = $this->sent_events();
		$this->assertCount( 2, $events );
		$this->assertSame( $topic, $events[1][0] );
		$this->assertSame( $body, $events[1][1] );
		$this->assertSame( $headers['X-WC-Webhook-Delivery-ID'], $events[1][2]['X-WC-Webhook-Delivery-ID'], 'a resend: cartback drops it if the first did arrive' );
		$this->assertSame( base64_encode( hash_hmac( 'sha256', $body, self::SECRET, true ) ), $events[1][2]['X-WC-Webhook-Signature'] );
		$this->assertTrue( $events[1][3]['blocking'] );
		$this->assertSame( 5, $events[1][3]['timeout'] );
		$this->assertTrue( CB_Stub::$remote_calls[1]['safe'] );

		// It failed again: dropped, not retried again.
		$this->assertSame( array(), CB_Stub::$actions );
	}

	public function temporary_failures() {
		return array(
			'unreachable'  => array( new WP_Error( 'http_request_failed', 'cURL error 7: Failed to connect' ) ),
			'timeout'      => array( new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' ) ),
			'server error' => array( 500 ),
			'bad gateway'  => array( 502 ),
			'unavailable'  => array( 503 ),
			'throttled'    => array( 429 ),
			'slow request' => array( 408 ),
		);
	}

	/**
	 * @dataProvider final_answers
	 */
	public function test_an_event_cartback_answered_is_not_retried( $answer ) {
		$this->cartback_answers( $answer );
		$this->send_on_shutdown();
		$this->assertCount( 1, $this->sent_events() );
		$this->assertSame( array(), CB_Stub::$actions );
	}

	public function final_answers() {
		return array(
			'ok'           => array( 200 ),
			'accepted'     => array( 202 ),
			'bad request'  => array( 400 ),
			'wrong secret' => array( 401 ),
			'conflict'     => array( 409 ),
			'too large'    => array( 413 ),
			'redirect'     => array( 301 ),
		);
	}

	public function test_an_event_wordpress_refuses_to_send_is_not_retried() {
		$this->cartback_answers( new WP_Error( 'http_request_not_executed', 'User has blocked requests through HTTP.' ) );
		$this->send_on_shutdown();
		$this->assertSame( array(), CB_Stub::$actions );
	}

	public function test_an_event_to_a_url_wordpress_refuses_is_not_retried() {
		// A cartback on a private address: WordPress's safe requests refuse
		// it (http_request_failed, "A valid URL was not provided."), and
		// would a minute later too. No retry, so no transient with the
		// shopper's details is left behind.
		update_option( Cartback_Settings::SIDECAR_URL, 'https://10.0.0.5' );
		$this->send_on_shutdown();
		$this->assertSame( array(), CB_Stub::$actions );
	}

	public function test_a_retry_after_the_plugin_was_unconfigured_sends_nothing() {
		$this->cartback_answers( 503 );
		$this->send_on_shutdown();
		$this->assertCount( 1, CB_Stub::$actions );
		update_option( Cartback_Settings::SECRET, '' );
		cb_stub_run_actions();
		$this->assertCount( 1, $this->sent_events() );
	}

	public function test_where_the_response_cannot_be_finished_events_do_not_wait() {
		// mod_php: there is no finishing the response early.
		CB_Stub::$finish_result = false;
		$this->cartback_answers( new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' ) );
		$this->send_on_shutdown();

		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$this->assertFalse( $events[0][3]['blocking'], 'the shopper would wait' );
		$this->assertLessThanOrEqual( 2, $events[0][3]['timeout'] );
		$this->assertSame( array(), CB_Stub::$actions, 'a request that does not wait cannot tell a failure' );
	}

	public function test_nothing_to_send_leaves_the_response_alone() {
		WC()->cart->add_to_cart( 93, 1 );
		$capture = $this->capture();
		$capture->register();
		do_action( 'woocommerce_cart_updated' );
		do_action( 'shutdown' );
		$this->assertSame( 0, CB_Stub::$finished, 'an anonymous cart sends nothing' );
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
