<?php
/**
 * What Cartback_Plugin::boot() hooks in on every request.
 *
 * @package Cartback\Tests
 */

class PluginTest extends CartbackTestCase {

	protected function setUp(): void {
		parent::setUp();
		// Only what boot() hooks in.
		CB_Stub::$hooks = array();
	}

	public function test_woocommerce_webhooks_reach_a_local_cartback_on_any_request() {
		update_option( Cartback_Settings::SIDECAR_URL, 'http://localhost:8787' );
		Cartback_Plugin::boot();
		// Not only around the plugin's own requests: WooCommerce delivers
		// its order webhooks in requests of its own.
		$webhook = new WC_Webhook();
		$webhook->set_topic( 'order.created' );
		$webhook->set_delivery_url( Cartback_Settings::webhook_url() );
		$webhook->set_secret( self::SECRET );
		$this->assertFalse( is_wp_error( $webhook->deliver( 723 ) ) );
		$this->assertSame( 'http://localhost:8787/webhooks/woocommerce', CB_Stub::$remote_calls[0]['url'] );
	}

	public function test_a_scheduled_retry_is_sent() {
		Cartback_Plugin::boot();
		$body = '{"cart_key":"t_contract0001","updated_at":"2026-03-02T09:59:31+01:00"}';
		as_schedule_single_action( time() + 60, 'cartback_retry_event', array( 'cart.deleted', $body, '' ), 'cartback' );
		cb_stub_run_actions();
		$events = $this->sent_events();
		$this->assertCount( 1, $events );
		$this->assertSame( array( 'cart.deleted', $body ), array( $events[0][0], $events[0][1] ) );
	}

	public function test_the_url_notice_is_hooked_in_the_admin() {
		Cartback_Plugin::boot();
		$this->assertFalse( has_action( 'admin_notices' ), 'not on the shop\'s pages' );

		CB_Stub::$hooks    = array();
		CB_Stub::$is_admin = true;
		Cartback_Plugin::boot();
		$this->assertNotFalse( has_action( 'admin_notices' ) );
	}
}
