<?php
/**
 * Order meta at checkout.
 *
 * @package Cartback\Tests
 */

class CheckoutTest extends CartbackTestCase {

	public function test_classic_checkout_meta() {
		$this->fill_contract_cart();
		$_POST['cartback_sms_consent'] = '1';
		$order                         = new WC_Order( 723 );
		$checkout                      = new Cartback_Checkout( $this->capture() );
		$checkout->register();
		do_action( 'woocommerce_checkout_create_order', $order, array() );
		$this->assertSame(
			array(
				'_cartback_cart_key'      => 't_contract0001',
				'_cartback_email_consent' => 'no',
				'_cartback_sms_consent'   => 'yes',
				'_cartback_locale'        => 'nb_NO',
			),
			$order->meta
		);
	}

	public function test_unpaid_timeout_is_marked_not_changed() {
		$checkout = new Cartback_Checkout( $this->capture() );
		$checkout->register();
		$order = new WC_Order( 724 );
		$this->assertTrue( apply_filters( 'woocommerce_cancel_unpaid_order', true, $order ) );
		$this->assertSame( array( '_cartback_unpaid_timeout' => 'yes' ), $order->meta );
		// An order WooCommerce leaves alone is not marked.
		$kept = new WC_Order( 725 );
		$this->assertFalse( apply_filters( 'woocommerce_cancel_unpaid_order', false, $kept ) );
		$this->assertSame( array(), $kept->meta );
	}

	public function test_block_checkout_meta() {
		$this->fill_contract_cart();
		$request = new WP_REST_Request( 'POST', '/wc/store/v1/checkout' );
		$request->set_param(
			'additional_fields',
			array(
				'cartback/email-consent' => true,
				'cartback/sms-consent'   => false,
			)
		);
		$order    = new WC_Order( 724 );
		$checkout = new Cartback_Checkout( $this->capture() );
		$checkout->register();
		do_action( 'woocommerce_store_api_checkout_update_order_from_request', $order, $request );
		$this->assertSame( 't_contract0001', $order->get_meta( '_cartback_cart_key' ) );
		$this->assertSame( 'yes', $order->get_meta( '_cartback_email_consent' ) );
		$this->assertSame( 'no', $order->get_meta( '_cartback_sms_consent' ) );
		$this->assertSame( 'nb_NO', $order->get_meta( '_cartback_locale' ) );

		do_action( 'woocommerce_store_api_checkout_order_processed', $order );
		$this->assertSame( 724, WC()->session->get( Cartback_Capture::S_ORDERED ) );
	}

	public function test_block_checkout_consent_reaches_cartback_before_the_order() {
		$this->fill_contract_cart();
		WC()->session->set( Cartback_Capture::S_CONSENT, null );
		$capture  = $this->capture();
		$checkout = new Cartback_Checkout( $capture );
		$capture->register();
		$checkout->register();
		$this->assertTrue( $capture->send_update() );
		$this->assertFalse( json_decode( $this->sent_events()[0][1], true )['consent']['sms_marketing'] );

		// The shopper ticks the SMS box: the block checkout PUTs the field
		// to /checkout, which updates the draft order; nothing else runs.
		$request = new WP_REST_Request( 'PUT', '/wc/store/v1/checkout' );
		$request->set_param(
			'additional_fields',
			array(
				'cartback/email-consent' => false,
				'cartback/sms-consent'   => true,
			)
		);
		$order = new WC_Order( 727 );
		do_action( 'woocommerce_store_api_checkout_update_order_meta', $order );
		do_action( 'woocommerce_store_api_checkout_update_order_from_request', $order, $request );
		do_action( 'shutdown' );

		$events = $this->sent_events();
		$this->assertCount( 2, $events, 'the consent goes out with the request that recorded it' );
		$p = json_decode( $events[1][1], true );
		$this->assertTrue( $p['consent']['sms_marketing'] );
		$this->assertFalse( $p['consent']['email_marketing'] );
		$this->assertSame( 'yes', $order->get_meta( '_cartback_sms_consent' ) );
	}

	public function test_block_checkout_field_left_out_keeps_the_orders_value() {
		$this->fill_contract_cart();
		$order = new WC_Order( 728 );
		// WooCommerce stored the SMS box on the draft order earlier.
		$order->update_meta_data( '_wc_other/cartback/sms-consent', '1' );
		$request = new WP_REST_Request( 'PUT', '/wc/store/v1/checkout' );
		$request->set_param( 'additional_fields', array( 'cartback/email-consent' => true ) );
		( new Cartback_Checkout( $this->capture() ) )->block_order_meta( $order, $request );
		$this->assertSame( 'yes', $order->get_meta( '_cartback_sms_consent' ) );
		$this->assertSame( 'yes', $order->get_meta( '_cartback_email_consent' ) );
	}

	public function test_classic_checkout_consent_goes_out_with_the_order_request() {
		$this->fill_contract_cart();
		WC()->session->set( Cartback_Capture::S_CONSENT, null );
		$capture = $this->capture();
		$capture->register();
		( new Cartback_Checkout( $capture ) )->register();
		$_POST['cartback_email_consent'] = '1';
		do_action( 'woocommerce_checkout_create_order', new WC_Order( 729 ), array() );
		do_action( 'shutdown' );
		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$this->assertTrue( json_decode( $events[0][1], true )['consent']['email_marketing'] );
	}

	public function test_consent_without_checkbox_is_no() {
		update_option( Cartback_Settings::SMS_CONSENT_LABEL, '' );
		$this->fill_contract_cart();
		$_POST['cartback_sms_consent'] = '1';
		$order                         = new WC_Order( 725 );
		( new Cartback_Checkout( $this->capture() ) )->classic_order_meta( $order );
		$this->assertSame( 'no', $order->get_meta( '_cartback_sms_consent' ) );
	}

	public function test_draft_order_gets_the_cart_key() {
		$this->fill_contract_cart();
		$order = new WC_Order( 726 );
		( new Cartback_Checkout( $this->capture() ) )->draft_order_meta( $order );
		$this->assertSame( array( '_cartback_cart_key' => 't_contract0001' ), $order->meta );
	}
}
