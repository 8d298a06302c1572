<?php
/**
 * The Connect button: ping and order webhooks.
 *
 * @package Cartback\Tests
 */

class ConnectTest extends CartbackTestCase {

	private function admin() {
		return new Cartback_Admin( new Cartback_Client(), new Cartback_Webhooks() );
	}

	public function test_connect_pings_and_creates_webhooks_once() {
		CB_Stub::$remote_handler = function () {
			return array(
				'response' => array( 'code' => 200 ),
				'body'     => '{"ok":true,"shop":"store.example"}',
			);
		};
		$result = $this->admin()->run_connect();
		$this->assertTrue( $result['ok'], $result['message'] );
		$this->assertStringContainsString( 'store.example', $result['message'] );

		$call = CB_Stub::$remote_calls[0];
		$this->assertSame( 'https://cartback.example/api/woocommerce/ping', $call['url'] );
		$h = $call['args']['headers'];
		$this->assertSame( Cartback_Signer::sign_request( 'GET', '/api/woocommerce/ping', $h['X-Cartback-Timestamp'], self::SECRET ), $h['X-Cartback-Signature'] );
		$this->assertSame( 'https://store.example/', $h['X-Cartback-Store'] );

		$this->assertCount( 2, WC_Fake_Catalog::$webhooks );
		$topics = array();
		foreach ( WC_Fake_Catalog::$webhooks as $webhook ) {
			$topics[] = $webhook->get_topic();
			$this->assertSame( 'https://cartback.example/webhooks/woocommerce', $webhook->get_delivery_url() );
			$this->assertSame( self::SECRET, $webhook->get_secret() );
			$this->assertSame( 'active', $webhook->get_status() );
		}
		$this->assertSame( array( 'order.created', 'order.updated' ), $topics );

		// Connecting again, after a secret rotation, updates them.
		update_option( Cartback_Settings::SECRET, 'rotated-secret-0123456789' );
		WC_Fake_Catalog::$webhooks[1]->set_status( 'disabled' );
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$this->assertCount( 2, WC_Fake_Catalog::$webhooks );
		$this->assertSame( 'rotated-secret-0123456789', WC_Fake_Catalog::$webhooks[1]->get_secret() );
		$this->assertSame( 'active', WC_Fake_Catalog::$webhooks[1]->get_status() );
		$this->assertSame( 'store.example', get_option( Cartback_Settings::CONNECTED )['shop'] );
	}

	public function test_deactivation_pauses_and_deletion_removes_the_webhooks() {
		CB_Stub::$remote_handler = function () {
			return array(
				'response' => array( 'code' => 200 ),
				'body'     => '{"ok":true,"shop":"store.example"}',
			);
		};
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		// A webhook of the merchant's own is never touched.
		$own = new WC_Webhook();
		$own->set_topic( 'order.created' );
		$own->set_delivery_url( 'https://erp.example/hook' );
		$own->set_status( 'active' );
		$own->save();

		Cartback_Plugin::deactivate();
		$this->assertSame( 'paused', WC_Fake_Catalog::$webhooks[1]->get_status() );
		$this->assertSame( 'paused', WC_Fake_Catalog::$webhooks[2]->get_status() );
		$this->assertSame( 'active', $own->get_status() );
		Cartback_Plugin::activate();
		$this->assertSame( 'active', WC_Fake_Catalog::$webhooks[1]->get_status() );

		define( 'WP_UNINSTALL_PLUGIN', true );
		include dirname( __DIR__ ) . '/cartback-for-woocommerce/uninstall.php';
		$this->assertSame( array( $own->get_id() ), array_keys( WC_Fake_Catalog::$webhooks ) );
		$this->assertFalse( get_option( Cartback_Settings::CONNECTED ) );
	}

	public function test_connect_refused() {
		CB_Stub::$remote_handler = function () {
			return array(
				'response' => array( 'code' => 401 ),
				'body'     => '{"error":"invalid request signature"}',
			);
		};
		$result = $this->admin()->run_connect();
		$this->assertFalse( $result['ok'] );
		$this->assertStringContainsString( 'refused the secret', $result['message'] );
		$this->assertCount( 0, WC_Fake_Catalog::$webhooks );
	}

	public function test_connect_needs_settings() {
		update_option( Cartback_Settings::SIDECAR_URL, '' );
		$this->assertFalse( $this->admin()->run_connect()['ok'] );
		$this->assertCount( 0, CB_Stub::$remote_calls );
	}
}
