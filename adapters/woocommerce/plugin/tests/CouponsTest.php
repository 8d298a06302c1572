<?php
/**
 * POST /wp-json/cartback/v1/coupons and the clean-up.
 *
 * @package Cartback\Tests
 */

class CouponsTest extends CartbackTestCase {

	private function coupons() {
		return new Cartback_Coupons( $this->clock() );
	}

	private function request( array $body, $timestamp = null, $secret = self::SECRET, $path = '/wp-json/cartback/v1/coupons' ) {
		$timestamp = null === $timestamp ? $this->now : $timestamp;
		$request   = new WP_REST_Request( 'POST', '/cartback/v1/coupons' );
		$request->set_header( 'X-Cartback-Store', 'https://cartback.example/' );
		$request->set_header( 'X-Cartback-Timestamp', (string) $timestamp );
		$raw = json_encode( $body );
		$request->set_header( 'X-Cartback-Signature', Cartback_Signer::sign_request_body( 'POST', $path, $timestamp, $raw, $secret ) );
		$request->set_body( $raw );
		return $request;
	}

	public function test_route_is_registered_with_a_permission_check() {
		$coupons = $this->coupons();
		$coupons->register();
		do_action( 'rest_api_init' );
		$route = CB_Stub::$rest_routes['/cartback/v1/coupons'];
		$this->assertSame( 'POST', $route['methods'] );
		$this->assertSame( array( $coupons, 'check_signature' ), $route['permission_callback'] );
	}

	public function test_signature_check() {
		$coupons = $this->coupons();
		$this->assertTrue( $coupons->check_signature( $this->request( array() ) ) );
		// The vector cartback's Go tests sign too: POST,
		// /wp-json/cartback/v1/coupons, 1772441911 and this body.
		$request = new WP_REST_Request( 'POST', '/cartback/v1/coupons' );
		$request->set_header( 'X-Cartback-Timestamp', '1772441911' );
		$request->set_header( 'X-Cartback-Signature', 'dNuz9dpmeBFWtHh0Om9nI+LPDqpOmJ16HUKDKRbLsXA=' );
		$request->set_body( '{"code":"CB-ABCDEFGH","percent":10}' );
		$this->assertTrue( $coupons->check_signature( $request ) );

		// The same headers over another body: refused.
		$tampered = $this->request( array( 'code' => 'CB-1', 'percent' => 10 ) );
		$tampered->set_body( json_encode( array( 'code' => 'CB-1', 'percent' => 100 ) ) );

		foreach ( array(
			'wrong secret'   => $this->request( array(), null, 'not-the-secret-0123456789' ),
			'wrong path'     => $this->request( array(), null, self::SECRET, '/api/woocommerce/ping' ),
			'stale'          => $this->request( array(), $this->now - 301 ),
			'unsigned'       => new WP_REST_Request( 'POST', '/cartback/v1/coupons' ),
			'another body'   => $tampered,
			'no body signed' => $this->legacy_request(),
		) as $name => $request ) {
			$result = $coupons->check_signature( $request );
			$this->assertInstanceOf( WP_Error::class, $result, $name );
			$this->assertSame( array( 'status' => 401 ), $result->get_error_data(), $name );
		}
	}

	/** A request signed the old way, without its body. */
	private function legacy_request() {
		$request = new WP_REST_Request( 'POST', '/cartback/v1/coupons' );
		$request->set_header( 'X-Cartback-Timestamp', (string) $this->now );
		$request->set_header( 'X-Cartback-Signature', Cartback_Signer::sign_request( 'POST', '/wp-json/cartback/v1/coupons', $this->now, self::SECRET ) );
		$request->set_body( '{"code":"CB-1","percent":100}' );
		return $request;
	}

	public function test_a_signed_request_is_taken_once() {
		$coupons = $this->coupons();
		$request = $this->request( array( 'code' => 'CB-ONCE', 'percent' => 10 ) );
		$this->assertTrue( $coupons->check_signature( $request ) );
		$again = $coupons->check_signature( $request );
		$this->assertInstanceOf( WP_Error::class, $again );
		$this->assertSame( array( 'status' => 409 ), $again->get_error_data() );
	}

	public function test_creates_single_use_percent_coupon() {
		$response = $this->coupons()->create(
			$this->request(
				array(
					'code'       => 'CB-7QX2',
					'percent'    => 10,
					'expires_at' => '2026-03-09T09:58:31+01:00',
					'email'      => 'kari.nordmann@example.no',
				)
			)
		);
		$this->assertInstanceOf( WP_REST_Response::class, $response );
		$this->assertSame( 201, $response->get_status() );
		$this->assertSame(
			array(
				'id'         => 1000,
				'code'       => 'cb-7qx2',
				'expires_at' => '2026-03-09T08:58:31Z',
			),
			$response->get_data()
		);
		$coupon = WC_Fake_Catalog::$coupons[1000];
		$this->assertSame( 'percent', $coupon->props['discount_type'] );
		$this->assertSame( 10.0, $coupon->props['amount'] );
		$this->assertSame( 1, $coupon->props['usage_limit'] );
		$this->assertTrue( $coupon->props['individual_use'] );
		$this->assertSame( strtotime( '2026-03-09T09:58:31+01:00' ), $coupon->props['date_expires']->getTimestamp() );
		$this->assertSame( array( 'kari.nordmann@example.no' ), $coupon->props['email_restrictions'] );
		$this->assertSame( 'yes', $coupon->get_meta( '_cartback_coupon' ) );
	}

	public function test_creates_fixed_amount_coupon_and_retry_is_idempotent() {
		$body     = array(
			'code'       => 'CB-AMT5',
			'amount'     => '5.00',
			'expires_at' => '2026-03-09T08:00:00Z',
		);
		$first    = $this->coupons()->create( $this->request( $body ) );
		$this->assertSame( 201, $first->get_status() );
		$coupon = WC_Fake_Catalog::$coupons[1000];
		$this->assertSame( 'fixed_cart', $coupon->props['discount_type'] );
		$this->assertSame( 5.0, $coupon->props['amount'] );
		$this->assertSame( array(), $coupon->props['email_restrictions'] );

		$again = $this->coupons()->create( $this->request( $body ) );
		$this->assertSame( 200, $again->get_status() );
		$this->assertCount( 1, WC_Fake_Catalog::$coupons );
	}

	public function test_foreign_coupon_with_the_same_code_is_a_conflict() {
		$mine = new WC_Coupon();
		$mine->set_code( 'SUMMER' );
		$mine->save();
		$result = $this->coupons()->create(
			$this->request(
				array(
					'code'       => 'summer',
					'percent'    => 10,
					'expires_at' => '2026-03-09T08:00:00Z',
				)
			)
		);
		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( array( 'status' => 409 ), $result->get_error_data() );
	}

	/**
	 * @dataProvider invalid_bodies
	 */
	public function test_invalid_bodies( array $body ) {
		$result = $this->coupons()->create( $this->request( $body ) );
		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( array( 'status' => 400 ), $result->get_error_data() );
		$this->assertCount( 0, WC_Fake_Catalog::$coupons );
	}

	public function invalid_bodies() {
		$ok = array(
			'code'       => 'CB-OK12',
			'percent'    => 10,
			'expires_at' => '2026-03-09T08:00:00Z',
		);
		return array(
			'bad code'         => array( array_merge( $ok, array( 'code' => 'a b' ) ) ),
			'no discount'      => array( array_diff_key( $ok, array( 'percent' => 1 ) ) ),
			'both'             => array( array_merge( $ok, array( 'amount' => '5.00' ) ) ),
			'percent too high' => array( array_merge( $ok, array( 'percent' => 150 ) ) ),
			'amount number'    => array( array_merge( array_diff_key( $ok, array( 'percent' => 1 ) ), array( 'amount' => 5 ) ) ),
			'expired'          => array( array_merge( $ok, array( 'expires_at' => '2026-03-01T08:00:00Z' ) ) ),
			'not rfc3339'      => array( array_merge( $ok, array( 'expires_at' => 'next week' ) ) ),
			'bad email'        => array( array_merge( $ok, array( 'email' => 'kari@' ) ) ),
		);
	}

	public function test_delete_expired() {
		CB_Stub::$posts['ids'] = array( 11, 12 );
		$this->assertSame( 2, $this->coupons()->delete_expired() );
		$this->assertSame( array( 11, 12 ), CB_Stub::$deleted_posts );
		$query = CB_Stub::$posts['last_query'];
		$this->assertSame( 'shop_coupon', $query['post_type'] );
		$this->assertSame( '_cartback_coupon', $query['meta_query'][0]['key'] );
		$this->assertSame( 'date_expires', $query['meta_query'][1]['key'] );
		$this->assertSame( $this->now, $query['meta_query'][1]['value'] );
		$this->assertSame( '<', $query['meta_query'][1]['compare'] );
	}

	public function test_daily_schedule() {
		Cartback_Plugin::activate();
		$this->assertArrayHasKey( 'cartback_delete_expired_coupons', CB_Stub::$scheduled );
		Cartback_Plugin::deactivate();
		$this->assertArrayNotHasKey( 'cartback_delete_expired_coupons', CB_Stub::$scheduled );
	}
}
