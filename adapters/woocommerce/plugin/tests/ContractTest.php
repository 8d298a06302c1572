<?php
/**
 * Contract golden files shared with the Go side in
 * adapters/woocommerce/testdata/contract/. Run with UPDATE_GOLDEN=1 to
 * rewrite cart_updated.json and cart_updated.sig.
 *
 * @package Cartback\Tests
 */

class ContractTest extends CartbackTestCase {

	public function test_cart_updated_golden() {
		$this->fill_contract_cart();
		$this->assertTrue( $this->capture()->send_update() );
		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		list( $topic, $body, $headers ) = $events[0];
		$this->assertSame( 'cart.updated', $topic );
		$sig = $headers['X-WC-Webhook-Signature'];

		$json_file = self::contract_dir() . '/cart_updated.json';
		$sig_file  = self::contract_dir() . '/cart_updated.sig';
		if ( getenv( 'UPDATE_GOLDEN' ) ) {
			file_put_contents( $json_file, $body );
			file_put_contents( $sig_file, $sig );
		}
		$this->assertFileExists( $json_file, 'run with UPDATE_GOLDEN=1 to create it' );
		$this->assertSame( file_get_contents( $json_file ), $body, 'cart.updated body differs from ' . $json_file . ' (UPDATE_GOLDEN=1 rewrites it)' );
		$this->assertSame( file_get_contents( $sig_file ), $sig, 'signature differs from ' . $sig_file );
		$this->assertSame( base64_encode( hash_hmac( 'sha256', $body, self::SECRET, true ) ), $sig );
	}

	public function test_golden_matches_documented_example() {
		// The golden is the docs example but for cart_key and restore_url;
		// everything else must agree value for value.
		$golden = json_decode( file_get_contents( self::contract_dir() . '/cart_updated.json' ), true );
		$doc    = json_decode( file_get_contents( dirname( __DIR__, 2 ) . '/testdata/cart_updated.json' ), true );
		$this->assertSame( 't_contract0001', $golden['cart_key'] );
		$this->assertSame(
			array(
				'attribute_pa_color' => 'black',
				'attribute_size'     => 'M',
			),
			$golden['items'][0]['attributes']
		);
		foreach ( array( 'cart_key', 'restore_url' ) as $field ) {
			unset( $golden[ $field ], $doc[ $field ] );
		}
		$this->assertSame( $doc, $golden );
	}

	public function test_restore_from_contract_response() {
		$response = file_get_contents( self::contract_dir() . '/restore_response.json' );
		CB_Stub::$remote_handler = function () use ( $response ) {
			return array(
				'response' => array( 'code' => 200 ),
				'body'     => $response,
			);
		};
		WC_Cart::$valid_coupons = array( 'back10' );
		$restore = new Cartback_Restore( new Cartback_Client(), $this->capture() );
		$this->assertSame( 'https://store.example/checkout/', $restore->restore( 'tok_contract' ) );

		$lines = array_values( WC()->cart->get_cart() );
		$this->assertCount( 2, $lines );
		$this->assertSame( array( 22, 23, 2 ), array( $lines[0]['product_id'], $lines[0]['variation_id'], $lines[0]['quantity'] ) );
		$this->assertSame(
			array(
				'attribute_pa_color' => 'black',
				'attribute_size'     => 'M',
			),
			$lines[0]['variation']
		);
		$this->assertSame( array( 93, 0, 1 ), array( $lines[1]['product_id'], $lines[1]['variation_id'], $lines[1]['quantity'] ) );
		$this->assertSame( array( 'back10' ), WC()->cart->get_applied_coupons() );
		$this->assertSame( 'kari.nordmann@example.no', WC()->customer->get_billing_email() );
		$this->assertSame( 't_contract0001', WC()->session->get( Cartback_Capture::S_CART_KEY ) );
	}
}
