<?php
/**
 * Signatures.
 *
 * @package Cartback\Tests
 */

class SignerTest extends CartbackTestCase {

	public function test_body_signature_is_base64_hmac_sha256() {
		// RFC 4231, test case 2.
		$this->assertSame( 'W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=', Cartback_Signer::sign_body( 'what do ya want for nothing?', 'Jefe' ) );
	}

	public function test_body_signature_matches_golden_vector() {
		$body = file_get_contents( self::contract_dir() . '/cart_updated.json' );
		$sig  = file_get_contents( self::contract_dir() . '/cart_updated.sig' );
		$this->assertSame( $sig, Cartback_Signer::sign_body( $body, self::SECRET ) );
		$this->assertSame( base64_encode( hash_hmac( 'sha256', $body, self::SECRET, true ) ), $sig );
	}

	public function test_request_signature_vectors() {
		$this->assertSame( 'FJ5YXG0FaHkPF4itiY4ohvP5K4x5vFxi5v/kdaLml00=', Cartback_Signer::sign_request( 'GET', '/api/woocommerce/ping', '1772441911', self::SECRET ) );
		$this->assertSame( 'edJUeIQ4YUxjjHCiFGLh0RdWPQvXOrN86/VAj6si4sE=', Cartback_Signer::sign_request( 'GET', '/api/woocommerce/restore/tok_abc-123', 1772441911, self::SECRET ) );
		$this->assertSame( 'PxL/mvKfT/ygo4I2XdLPtJ9+HqMKtHr5W7Bzy2HKfR8=', Cartback_Signer::sign_request( 'post', '/wp-json/cartback/v1/coupons', 1772441911, self::SECRET ) );
		$this->assertSame( 'dNuz9dpmeBFWtHh0Om9nI+LPDqpOmJ16HUKDKRbLsXA=', Cartback_Signer::sign_request_body( 'post', '/wp-json/cartback/v1/coupons', 1772441911, '{"code":"CB-ABCDEFGH","percent":10}', self::SECRET ) );
	}

	public function test_request_headers() {
		$headers = Cartback_Signer::request_headers( 'GET', '/api/woocommerce/ping', self::SECRET, 1772441911 );
		$this->assertSame(
			array(
				'X-Cartback-Store'     => 'https://store.example/',
				'X-Cartback-Timestamp' => '1772441911',
				'X-Cartback-Signature' => 'FJ5YXG0FaHkPF4itiY4ohvP5K4x5vFxi5v/kdaLml00=',
			),
			$headers
		);
	}

	public function test_verify_request() {
		$sig = 'PxL/mvKfT/ygo4I2XdLPtJ9+HqMKtHr5W7Bzy2HKfR8=';
		$p   = '/wp-json/cartback/v1/coupons';
		$this->assertTrue( Cartback_Signer::verify_request( 'POST', $p, '1772441911', $sig, self::SECRET, 1772441911 ) );
		$this->assertTrue( Cartback_Signer::verify_request( 'POST', $p, '1772441911', $sig, self::SECRET, 1772441911 + 300 ) );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', $p, '1772441911', $sig, self::SECRET, 1772441911 + 301 ), 'too old' );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', $p, '1772441911', $sig, self::SECRET, 1772441911 - 301 ), 'from the future' );
		$this->assertFalse( Cartback_Signer::verify_request( 'GET', $p, '1772441911', $sig, self::SECRET, 1772441911 ), 'other method' );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', '/wp-json/cartback/v1/other', '1772441911', $sig, self::SECRET, 1772441911 ), 'other path' );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', $p, '1772441911', $sig, 'another-secret-0123456789', 1772441911 ), 'other secret' );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', $p, '', $sig, self::SECRET, 1772441911 ), 'no timestamp' );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', $p, '1772441911', '', self::SECRET, 1772441911 ), 'no signature' );
		$this->assertFalse( Cartback_Signer::verify_request( 'POST', $p, '1772441911', $sig, '', 1772441911 ), 'no secret configured' );
	}
}
