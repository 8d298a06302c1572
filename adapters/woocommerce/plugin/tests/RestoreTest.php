<?php
/**
 * The restore link.
 *
 * @package Cartback\Tests
 */

/** Restore that returns instead of exiting after the redirect. */
class Testable_Restore extends Cartback_Restore {
	public $stopped = 0;
	protected function stop() {
		++$this->stopped;
	}
}

class RestoreTest extends CartbackTestCase {

	private function answer( $code, $body ) {
		CB_Stub::$remote_handler = function ( $method, $url ) use ( $code, $body ) {
			return array(
				'response' => array( 'code' => $code ),
				'body'     => is_string( $body ) ? $body : json_encode( $body ),
			);
		};
	}

	private function cart_answer( array $overrides = array() ) {
		return array_merge(
			array(
				'cart_key' => 't_restored0001',
				'email'    => 'kari@example.no',
				'coupon'   => 'BACK10',
				'currency' => 'NOK',
				'items'    => array(
					array(
						'product_id'   => 22,
						'variation_id' => 23,
						'quantity'     => 2,
						'attributes'   => array(
							'attribute_pa_color' => 'black',
							'attribute_size'     => 'M',
						),
					),
					array(
						'product_id'   => 93,
						'variation_id' => 0,
						'quantity'     => 1,
						'attributes'   => array(),
					),
				),
			),
			$overrides
		);
	}

	private function restore() {
		return new Testable_Restore( new Cartback_Client(), $this->capture(), $this->clock() );
	}

	public function test_restores_cart_and_redirects_to_checkout() {
		$this->answer( 200, $this->cart_answer() );
		WC_Cart::$valid_coupons = array( 'back10' );
		// Whatever the browser held before is replaced.
		WC()->cart->add_to_cart( 93, 5 );
		$_GET['cartback_restore'] = 'AbC-123_xyz';
		$this->now = time();

		$restore = $this->restore();
		$restore->maybe_restore();

		$this->assertSame( array( 'https://store.example/checkout/' ), CB_Stub::$redirects );
		$this->assertSame( 1, $restore->stopped );

		// The signed request to cartback.
		$this->assertCount( 1, CB_Stub::$remote_calls );
		$call = CB_Stub::$remote_calls[0];
		$this->assertSame( 'GET', $call['method'] );
		$this->assertSame( 'https://cartback.example/api/woocommerce/restore/AbC-123_xyz', $call['url'] );
		$h = $call['args']['headers'];
		$this->assertSame( 'https://store.example/', $h['X-Cartback-Store'] );
		$this->assertEqualsWithDelta( time(), (int) $h['X-Cartback-Timestamp'], 5 );
		$this->assertTrue( Cartback_Signer::verify_request( 'GET', '/api/woocommerce/restore/AbC-123_xyz', $h['X-Cartback-Timestamp'], $h['X-Cartback-Signature'], self::SECRET, time() ) );

		$lines = array_values( WC()->cart->get_cart() );
		$this->assertCount( 2, $lines );
		$this->assertSame( 22, $lines[0]['product_id'] );
		$this->assertSame( 23, $lines[0]['variation_id'] );
		$this->assertSame( 2, $lines[0]['quantity'] );
		$this->assertSame(
			array(
				'attribute_pa_color' => 'black',
				'attribute_size'     => 'M',
			),
			$lines[0]['variation']
		);
		$this->assertSame( 93, $lines[1]['product_id'] );
		$this->assertSame( 1, $lines[1]['quantity'], 'the old cart was emptied' );
		$this->assertSame( array( 'back10' ), WC()->cart->get_applied_coupons() );
		$this->assertSame( 'kari@example.no', WC()->customer->get_billing_email() );
		$this->assertSame( 1, WC()->customer->saved );
		$this->assertTrue( WC()->session->cookie_set );
		$this->assertSame( 't_restored0001', WC()->session->get( Cartback_Capture::S_CART_KEY ), 'the cart keeps its key' );
		$this->assertSame( array(), CB_Stub::$notices );
	}

	public function test_signed_in_customer_keeps_own_cart_and_email() {
		$this->answer( 200, $this->cart_answer() );
		WC_Cart::$valid_coupons = array( 'back10' );
		CB_Stub::$logged_in     = true;
		WC()->customer->set_billing_email( 'owner@example.no' );
		WC()->cart->add_to_cart( 93, 5 );
		WC()->session->set( Cartback_Capture::S_CART_KEY, 't_owncart0001' );
		$_GET['cartback_restore'] = 'AbC-123_xyz';
		$this->now = time();

		$this->restore()->maybe_restore();

		// A link someone forwarded adds its items; it takes nothing over.
		$this->assertSame( 'owner@example.no', WC()->customer->get_billing_email() );
		$this->assertSame( 't_owncart0001', WC()->session->get( Cartback_Capture::S_CART_KEY ) );
		$quantities = array();
		foreach ( WC()->cart->get_cart() as $line ) {
			$quantities[ $line['product_id'] ] = ( isset( $quantities[ $line['product_id'] ] ) ? $quantities[ $line['product_id'] ] : 0 ) + $line['quantity'];
		}
		// (WooCommerce adds the link's quantity to the line; the stub cart
		// replaces it: either way the line is still there.)
		$this->assertArrayHasKey( 93, $quantities, 'the customer\'s own line stays' );
		$this->assertSame( 2, $quantities[22] );
	}

	public function test_guest_keeps_an_email_already_given() {
		$this->answer( 200, $this->cart_answer() );
		WC()->customer->set_billing_email( 'typed@example.no' );
		$_GET['cartback_restore'] = 'AbC-123_xyz';
		$this->now = time();

		$this->restore()->maybe_restore();

		$this->assertSame( 'typed@example.no', WC()->customer->get_billing_email() );
	}

	public function test_restoring_sends_no_cart_events() {
		$this->answer( 200, $this->cart_answer() );
		WC_Cart::$valid_coupons = array( 'back10' );
		$capture = $this->capture();
		$capture->register();
		$restore = new Cartback_Restore( new Cartback_Client(), $capture );
		$restore->restore( 'tok' );
		$this->assertCount( 0, $this->sent_events(), 'emptying the cart to rebuild it is not a cart.deleted' );
		do_action( 'shutdown' );
		$events = $this->sent_events();
		$this->assertCount( 1, $events, 'the rebuilt cart is reported under its old key' );
		$this->assertSame( 't_restored0001', json_decode( $events[0][1], true )['cart_key'] );
	}

	public function test_missing_and_out_of_stock_products_are_skipped() {
		WC_Fake_Catalog::$products[23]->props['in_stock'] = false;
		$answer            = $this->cart_answer( array( 'coupon' => '' ) );
		$answer['items'][] = array(
			'product_id'   => 404,
			'variation_id' => 0,
			'quantity'     => 1,
			'attributes'   => array(),
		);
		$this->answer( 200, $answer );

		$this->assertSame( 'https://store.example/checkout/', $this->restore()->restore( 'tok' ) );
		$lines = array_values( WC()->cart->get_cart() );
		$this->assertCount( 1, $lines );
		$this->assertSame( 93, $lines[0]['product_id'] );
		$this->assertCount( 2, CB_Stub::$notices );
		$this->assertSame( 'notice', CB_Stub::$notices[0][0] );
		$this->assertStringContainsString( 'out of stock', CB_Stub::$notices[0][1] );
		$this->assertStringContainsString( 'no longer available', CB_Stub::$notices[1][1] );
		$this->assertSame( array(), WC()->cart->get_applied_coupons(), 'no coupon to apply' );
	}

	public function test_unpublished_product_is_skipped() {
		WC_Fake_Catalog::$products[93]->props['status'] = 'trash';
		$this->answer( 200, $this->cart_answer( array( 'coupon' => '' ) ) );
		$this->restore()->restore( 'tok' );
		$this->assertCount( 1, WC()->cart->get_cart() );
		$this->assertCount( 1, CB_Stub::$notices );
	}

	public function test_nothing_left_goes_to_the_shop() {
		$this->answer(
			200,
			$this->cart_answer(
				array(
					'items' => array(
						array(
							'product_id'   => 404,
							'variation_id' => 0,
							'quantity'     => 1,
							'attributes'   => array(),
						),
					),
				)
			)
		);
		$this->assertSame( 'https://store.example/shop/', $this->restore()->restore( 'tok' ) );
		$this->assertSame( 'error', end( CB_Stub::$notices )[0] );
	}

	/**
	 * @dataProvider invalid_answers
	 */
	public function test_invalid_or_expired_token( $code ) {
		$this->answer( $code, array( 'error' => 'unknown link' ) );
		$_GET['cartback_restore'] = 'forged';
		$restore                  = $this->restore();
		$restore->maybe_restore();
		$this->assertSame( array( 'https://store.example/shop/' ), CB_Stub::$redirects );
		$this->assertSame( array( array( 'error', 'This link is invalid or has expired.' ) ), CB_Stub::$notices );
		$this->assertTrue( WC()->cart->is_empty() );
	}

	public function invalid_answers() {
		return array(
			'unknown' => array( 404 ),
			'expired' => array( 410 ),
		);
	}

	public function test_bought_cart_is_not_rebuilt() {
		$this->answer( 409, array( 'error' => 'this cart was bought' ) );
		$_GET['cartback_restore'] = 'AbC-123_xyz';
		$this->restore()->maybe_restore();
		$this->assertSame( array( 'https://store.example/shop/' ), CB_Stub::$redirects );
		$this->assertSame( array( array( 'notice', 'This order has already been placed. Thank you!' ) ), CB_Stub::$notices );
		$this->assertTrue( WC()->cart->is_empty() );
		$this->assertNull( WC()->session->get( Cartback_Capture::S_CART_KEY ), 'the bought cart\'s key is not taken up' );
	}

	public function test_invalid_token_with_a_cart_goes_to_the_cart() {
		WC()->cart->add_to_cart( 93, 1 );
		$this->answer( 410, array( 'error' => 'this link has expired' ) );
		$this->assertSame( 'https://store.example/cart/', $this->restore()->restore( 'old' ) );
		$this->assertCount( 1, WC()->cart->get_cart(), 'the cart is left alone' );
	}

	public function test_malformed_token_is_not_sent() {
		$this->assertSame( 'https://store.example/shop/', $this->restore()->restore( '../../admin' ) );
		$this->assertCount( 0, CB_Stub::$remote_calls );
		$this->assertCount( 1, CB_Stub::$notices );
	}

	public function test_sidecar_down() {
		CB_Stub::$remote_handler = function () {
			return new WP_Error( 'http_request_failed', 'cURL error 7' );
		};
		$this->assertSame( 'https://store.example/shop/', $this->restore()->restore( 'tok' ) );
		$this->assertStringContainsString( 'could not be restored', CB_Stub::$notices[0][1] );
	}

	public function test_crawlers_do_not_restore() {
		$_SERVER['HTTP_USER_AGENT'] = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
		$this->answer( 200, $this->cart_answer() );
		$this->assertSame( 'https://store.example/shop/', $this->restore()->restore( 'tok' ) );
		$this->assertCount( 0, CB_Stub::$remote_calls );
	}

	/**
	 * @dataProvider guest_notices
	 */
	public function test_guest_without_a_session_keeps_the_notice( $code, $token, $notice ) {
		// A reminder opened in a browser that never visited the shop.
		WC()->session->has_session = false;
		$this->answer( $code, array( 'error' => 'no' ) );
		$_GET['cartback_restore'] = $token;
		$this->restore()->maybe_restore();
		$this->assertSame( array( 'https://store.example/shop/' ), CB_Stub::$redirects );
		$this->assertSame( $notice, CB_Stub::$notices[0][1] );
		$this->assertTrue( WC()->session->cookie_set, 'without the cookie WooCommerce saves no session, and the notice is lost' );
	}

	public function guest_notices() {
		return array(
			'expired'   => array( 410, 'AbC-123_xyz', 'This link is invalid or has expired.' ),
			'bought'    => array( 409, 'AbC-123_xyz', 'This order has already been placed. Thank you!' ),
			'down'      => array( 503, 'AbC-123_xyz', 'Your cart could not be restored right now. Please try the link again in a moment.' ),
			'malformed' => array( 200, '../../admin', 'This link is invalid or has expired.' ),
		);
	}

	public function test_existing_session_is_left_as_it_is() {
		$this->answer( 410, array( 'error' => 'this link has expired' ) );
		$this->restore()->restore( 'old' );
		$this->assertFalse( WC()->session->cookie_set );
	}

	public function test_restore_waits_five_seconds_at_most() {
		$this->answer( 410, array( 'error' => 'this link has expired' ) );
		$this->restore()->restore( 'tok' );
		$this->assertLessThanOrEqual( 5, CB_Stub::$remote_calls[0]['args']['timeout'] );
		$this->assertTrue( CB_Stub::$remote_calls[0]['safe'], 'wp_safe_remote_get()' );
	}

	public function test_restore_lookups_are_limited_per_ip_address() {
		$this->answer( 410, array( 'error' => 'unknown link' ) );
		$_SERVER['REMOTE_ADDR'] = '203.0.113.7';
		$restore                = $this->restore();
		for ( $i = 0; $i < 20; $i++ ) {
			$restore->restore( 'guess' . $i );
		}
		$this->assertCount( 20, CB_Stub::$remote_calls );
		$notices = count( CB_Stub::$notices );

		// The 21st within ten minutes is not looked up; the shopper is told
		// to come back.
		$this->now += 9 * 60;
		$this->assertSame( 'https://store.example/shop/', $restore->restore( 'guess20' ) );
		$this->assertCount( 20, CB_Stub::$remote_calls );
		$this->assertCount( $notices + 1, CB_Stub::$notices );
		$this->assertSame( array( 'error', 'This link could not be opened right now. Please try again in a few minutes.' ), end( CB_Stub::$notices ) );

		// Another address is counted apart.
		$_SERVER['REMOTE_ADDR'] = '198.51.100.2';
		$restore->restore( 'mine' );
		$this->assertCount( 21, CB_Stub::$remote_calls );

		// Ten minutes after the first lookup, the first address may again.
		$_SERVER['REMOTE_ADDR'] = '203.0.113.7';
		$this->now += 60;
		$restore->restore( 'again' );
		$this->assertCount( 22, CB_Stub::$remote_calls );

		foreach ( array_keys( CB_Stub::$options ) as $name ) {
			$this->assertStringNotContainsString( '203.0.113.7', $name, 'addresses are stored hashed' );
		}
	}

	public function test_rate_limit_redirect_from_the_link() {
		$this->answer( 410, array( 'error' => 'unknown link' ) );
		$_SERVER['REMOTE_ADDR']   = '203.0.113.7';
		$_GET['cartback_restore'] = 'guess';
		add_filter(
			'cartback_restore_rate_limit',
			function () {
				return 1;
			}
		);
		$this->restore()->maybe_restore();
		$this->restore()->maybe_restore();
		$this->assertCount( 1, CB_Stub::$remote_calls );
		$this->assertSame( 'https://store.example/shop/', CB_Stub::$redirects[1] );
	}

	/** Limits lookups to $limit failed ones per client. */
	private function limit_to( $limit ) {
		add_filter(
			'cartback_restore_rate_limit',
			function () use ( $limit ) {
				return $limit;
			}
		);
	}

	public function test_links_that_work_are_not_counted() {
		// Behind a proxy that leaves REMOTE_ADDR as its own, the whole
		// shop's shoppers share one address.
		$_SERVER['REMOTE_ADDR'] = '10.0.0.1';
		WC_Cart::$valid_coupons = array( 'back10' );
		$restore                = $this->restore();
		$this->answer( 200, $this->cart_answer() );
		for ( $i = 0; $i < 25; $i++ ) {
			$this->assertSame( 'https://store.example/checkout/', $restore->restore( 'shopper' . $i ) );
		}
		$this->answer( 409, array( 'error' => 'this cart was bought' ) );
		for ( $i = 0; $i < 25; $i++ ) {
			$restore->restore( 'bought' . $i );
		}
		// Nor is cartback being down: that is no shopper's doing.
		$this->answer( 503, array( 'error' => 'unavailable' ) );
		for ( $i = 0; $i < 25; $i++ ) {
			$restore->restore( 'down' . $i );
		}
		$this->assertCount( 75, CB_Stub::$remote_calls );

		$this->answer( 200, $this->cart_answer() );
		$this->assertSame( 'https://store.example/checkout/', $restore->restore( 'next' ) );
		$this->assertCount( 76, CB_Stub::$remote_calls );
	}

	public function test_malformed_tokens_are_counted() {
		$_SERVER['REMOTE_ADDR'] = '203.0.113.7';
		$this->limit_to( 3 );
		$restore = $this->restore();
		for ( $i = 0; $i < 3; $i++ ) {
			$restore->restore( '../guess' . $i );
		}
		$this->answer( 200, $this->cart_answer() );
		$restore->restore( 'AbC-123_xyz' );
		$this->assertCount( 0, CB_Stub::$remote_calls );
		$this->assertSame( 'This link could not be opened right now. Please try again in a few minutes.', end( CB_Stub::$notices )[1] );
	}

	public function test_ipv6_clients_are_counted_by_their_64() {
		$this->answer( 404, array( 'error' => 'unknown link' ) );
		$this->limit_to( 3 );
		$restore = $this->restore();
		// One subscriber's /64: a new address for every guess.
		foreach ( array( '2001:db8:1:2::a', '2001:db8:1:2:8f1e:3c2a:91b4:1', '2001:DB8:1:2:ffff:ffff:ffff:ffff' ) as $ip ) {
			$_SERVER['REMOTE_ADDR'] = $ip;
			$restore->restore( 'guess' );
		}
		$this->assertCount( 3, CB_Stub::$remote_calls );
		$_SERVER['REMOTE_ADDR'] = '2001:db8:1:2::b';
		$restore->restore( 'guess' );
		$this->assertCount( 3, CB_Stub::$remote_calls, 'the same /64' );

		// The neighbouring /64 is someone else.
		$_SERVER['REMOTE_ADDR'] = '2001:db8:1:3::a';
		$restore->restore( 'guess' );
		$this->assertCount( 4, CB_Stub::$remote_calls );
	}

	public function test_client_networks() {
		$this->assertSame( '2001:db8:1:2::/64', Cartback_Restore::client_network( '2001:DB8:1:2:8f1e:3c2a:91b4:1' ) );
		$this->assertSame( '203.0.113.7', Cartback_Restore::client_network( '203.0.113.7' ) );
		$this->assertSame( '203.0.113.7', Cartback_Restore::client_network( '::ffff:203.0.113.7' ), 'an IPv4 address written as IPv6' );
	}

	public function test_limited_guest_without_a_session_keeps_the_notice() {
		$_SERVER['REMOTE_ADDR'] = '203.0.113.7';
		$this->answer( 410, array( 'error' => 'this link has expired' ) );
		$this->limit_to( 1 );
		$this->restore()->restore( 'old' );
		CB_Stub::$notices = array();

		// The next link, opened in a browser that never visited the shop.
		WC()->session->has_session = false;
		WC()->session->cookie_set  = false;
		$_GET['cartback_restore']  = 'AbC-123_xyz';
		$this->restore()->maybe_restore();
		$this->assertSame( array( 'https://store.example/shop/' ), CB_Stub::$redirects );
		$this->assertSame( array( array( 'error', 'This link could not be opened right now. Please try again in a few minutes.' ) ), CB_Stub::$notices );
		$this->assertTrue( WC()->session->cookie_set, 'without the cookie WooCommerce saves no session, and the notice is lost' );
		$this->assertCount( 1, CB_Stub::$remote_calls );
	}

	public function test_no_query_var_does_nothing() {
		$restore = $this->restore();
		$restore->maybe_restore();
		$this->assertSame( array(), CB_Stub::$redirects );
		$this->assertSame( 0, $restore->stopped );
	}
}
