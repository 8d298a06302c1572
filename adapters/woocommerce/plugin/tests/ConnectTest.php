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

		// A retry still waiting goes with the plugin.
		as_schedule_single_action( time() + 60, 'cartback_retry_event', array( 'cartback_retry_0123' ), 'cartback' );
		define( 'WP_UNINSTALL_PLUGIN', true );
		include dirname( __DIR__ ) . '/cartback-for-woocommerce/uninstall.php';
		$this->assertSame( array(), CB_Stub::$actions, 'retries left waiting' );
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

	private function cartback_answers_ok() {
		CB_Stub::$remote_handler = function () {
			return array(
				'response' => array( 'code' => 200 ),
				'body'     => '{"ok":true,"shop":"store.example"}',
			);
		};
	}

	public function test_failed_ping_keeps_the_webhooks_within_reach() {
		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		CB_Stub::$remote_handler = function () {
			return new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' );
		};
		$result = $this->admin()->run_connect();
		$this->assertFalse( $result['ok'] );
		$this->assertStringContainsString( 'timed out', $result['message'] );
		$this->assertSame(
			array(
				'order.created' => 1,
				'order.updated' => 2,
			),
			get_option( Cartback_Settings::CONNECTED )['webhooks']
		);

		// Deactivating still pauses them, deleting still deletes them.
		Cartback_Plugin::deactivate();
		$this->assertSame( 'paused', WC_Fake_Catalog::$webhooks[1]->get_status() );
		$this->assertSame( 'paused', WC_Fake_Catalog::$webhooks[2]->get_status() );
	}

	public function test_connecting_to_a_new_url_removes_the_old_webhooks() {
		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$own = new WC_Webhook();
		$own->set_topic( 'order.created' );
		$own->set_delivery_url( 'https://erp.example/hook' );
		$own->set_status( 'active' );
		$own->save();

		update_option( Cartback_Settings::SIDECAR_URL, 'https://cartback-new.example' );
		$this->assertTrue( $this->admin()->run_connect()['ok'] );

		$urls = array();
		foreach ( WC_Fake_Catalog::$webhooks as $webhook ) {
			$urls[] = $webhook->get_topic() . ' ' . $webhook->get_delivery_url() . ' ' . $webhook->get_status();
		}
		sort( $urls );
		$this->assertSame(
			array(
				'order.created https://cartback-new.example/webhooks/woocommerce active',
				'order.created https://erp.example/hook active',
				'order.updated https://cartback-new.example/webhooks/woocommerce active',
			),
			$urls,
			'the old URL gets no more orders; the merchant\'s own webhook stays'
		);
		$connected = get_option( Cartback_Settings::CONNECTED )['webhooks'];
		$this->assertSame( 'https://cartback-new.example/webhooks/woocommerce', wc_get_webhook( $connected['order.created'] )->get_delivery_url() );
	}

	private function render_connect() {
		ob_start();
		$this->admin()->render_connect();
		return ob_get_clean();
	}

	public function test_settings_page_shows_webhooks_woocommerce_stopped() {
		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$this->assertStringNotContainsString( 'notice-warning', $this->render_connect() );

		// WooCommerce disables a webhook after five failed deliveries.
		WC_Fake_Catalog::$webhooks[1]->set_status( 'disabled' );
		WC_Fake_Catalog::$webhooks[2]->delete( true );
		$html = $this->render_connect();
		$this->assertStringContainsString( 'The order.created webhook to cartback is disabled', $html );
		$this->assertStringContainsString( 'press Connect again', $html );
		$this->assertStringContainsString( 'The order.updated webhook to cartback has been deleted', $html );

		// Connect puts both back.
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$this->assertStringNotContainsString( 'notice-warning', $this->render_connect() );
	}

	public function test_settings_page_shows_a_paused_webhook() {
		$this->cartback_answers_ok();
		$this->admin()->run_connect();
		WC_Fake_Catalog::$webhooks[2]->set_status( 'paused' );
		$this->assertStringContainsString( 'The order.updated webhook to cartback is paused', $this->render_connect() );
	}

	public function test_requests_to_cartback_are_safe_requests() {
		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$this->assertCount( 1, CB_Stub::$remote_calls );
		$this->assertTrue( CB_Stub::$remote_calls[0]['safe'], 'wp_safe_remote_get()' );
	}

	/**
	 * @dataProvider plain_http_urls
	 */
	public function test_cartback_url_must_be_https( $url ) {
		update_option( Cartback_Settings::SIDECAR_URL, $url );
		$this->assertFalse( Cartback_Settings::is_configured() );
		$result = $this->admin()->run_connect();
		$this->assertFalse( $result['ok'] );
		$this->assertStringContainsString( 'must start with https://', $result['message'] );

		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertCount( 0, CB_Stub::$remote_calls, 'nothing goes out in the clear' );
		$this->assertStringContainsString( 'must start with https://', $this->render_connect() );
	}

	public function plain_http_urls() {
		return array(
			'http'          => array( 'http://cartback.example' ),
			'lookalike'     => array( 'http://localhost.example.com' ),
			'no scheme'     => array( 'cartback.example' ),
			'other scheme'  => array( 'ftp://cartback.example' ),
		);
	}

	/**
	 * @dataProvider local_urls
	 */
	public function test_local_cartback_over_http_for_development( $url ) {
		update_option( Cartback_Settings::SIDECAR_URL, $url );
		$this->cartback_answers_ok();
		$result = $this->admin()->run_connect();
		$this->assertTrue( $result['ok'], $result['message'] );
		$this->assertSame( $url . '/api/woocommerce/ping', CB_Stub::$remote_calls[0]['url'] );
		$this->assertTrue( CB_Stub::$remote_calls[0]['safe'] );

		// Only the cartback URL's host and port are let through.
		$host = parse_url( $url, PHP_URL_HOST );
		foreach ( array( "http://$host/", "http://$host:22/", "http://$host:8788/webhooks/woocommerce", "https://$host/" ) as $other ) {
			$this->assertFalse( cb_stub_http_validate_url( $other ), $other );
		}
		$this->assertFalse( cb_stub_http_validate_url( 'http://10.0.0.5:8787/' ) );
		$this->assertSame( "$url/webhooks/woocommerce", cb_stub_http_validate_url( "$url/webhooks/woocommerce" ) );
	}

	public function test_order_webhooks_reach_a_local_cartback() {
		update_option( Cartback_Settings::SIDECAR_URL, 'http://localhost:8787' );
		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$ids = get_option( Cartback_Settings::CONNECTED )['webhooks'];

		// WooCommerce delivers an order in a request of its own (Action
		// Scheduler), with wp_safe_remote_request().
		CB_Stub::$remote_calls = array();
		$response              = wc_get_webhook( $ids['order.created'] )->deliver( 723 );
		$this->assertFalse( is_wp_error( $response ), 'WordPress refused the delivery URL' );
		$this->assertCount( 1, CB_Stub::$remote_calls );
		$this->assertSame( 'http://localhost:8787/webhooks/woocommerce', CB_Stub::$remote_calls[0]['url'] );
		$this->assertTrue( CB_Stub::$remote_calls[0]['safe'] );
	}

	public function test_cartback_on_a_port_of_its_own() {
		update_option( Cartback_Settings::SIDECAR_URL, 'https://cartback.example.com:8443' );
		$this->cartback_answers_ok();
		$result = $this->admin()->run_connect();
		$this->assertTrue( $result['ok'], $result['message'] );
		$this->assertSame( 'https://cartback.example.com:8443/api/woocommerce/ping', CB_Stub::$remote_calls[0]['url'] );

		// The cart events.
		$this->fill_contract_cart();
		$capture = $this->capture();
		$capture->mark_dirty();
		$capture->flush();
		$this->assertSame( 'https://cartback.example.com:8443/webhooks/woocommerce', CB_Stub::$remote_calls[1]['url'] );

		// And WooCommerce's order webhooks.
		$ids      = get_option( Cartback_Settings::CONNECTED )['webhooks'];
		$response = wc_get_webhook( $ids['order.updated'] )->deliver( 723 );
		$this->assertFalse( is_wp_error( $response ) );
		$this->assertSame( 'https://cartback.example.com:8443/webhooks/woocommerce', end( CB_Stub::$remote_calls )['url'] );

		// That port on that host only.
		$this->assertFalse( cb_stub_http_validate_url( 'https://cartback.example.com:8444/' ) );
		$this->assertFalse( cb_stub_http_validate_url( 'https://elsewhere.example.com:8443/' ) );
		$this->assertFalse( cb_stub_http_validate_url( 'http://localhost:8443/' ) );
	}

	public function test_a_refused_url_is_not_let_through() {
		// Not https: the plugin sends nothing there, and lets nothing through.
		update_option( Cartback_Settings::SIDECAR_URL, 'http://cartback.example.com:8443' );
		$this->assertFalse( cb_stub_http_validate_url( 'http://cartback.example.com:8443/webhooks/woocommerce' ) );
	}

	public function local_urls() {
		return array(
			'localhost' => array( 'http://localhost:8787' ),
			'loopback'  => array( 'http://127.0.0.1:8787' ),
		);
	}

	private function admin_notices() {
		$admin = $this->admin();
		$admin->register();
		ob_start();
		do_action( 'admin_notices' );
		return ob_get_clean();
	}

	public function test_a_refused_url_is_shown_on_every_admin_page() {
		// A shop updated from 1.1 with a plain http cartback URL.
		update_option( Cartback_Settings::SIDECAR_URL, 'http://cartback.example.com' );
		CB_Stub::$caps = array( 'manage_woocommerce' );
		$html          = $this->admin_notices();
		$this->assertStringContainsString( 'notice-error', $html );
		$this->assertStringContainsString( 'sends no carts', $html );
		$this->assertStringContainsString( 'must start with https://', $html );
		$this->assertStringContainsString( 'href="https://store.example/wp-admin/admin.php?page=wc-settings&tab=cartback"', $html );
	}

	public function test_no_url_notice_when_it_does_not_apply() {
		update_option( Cartback_Settings::SIDECAR_URL, 'http://cartback.example.com' );
		$this->assertSame( '', $this->admin_notices(), 'a user who cannot change the settings' );

		CB_Stub::$caps = array( 'manage_woocommerce' );
		$_GET          = array(
			'page' => 'wc-settings',
			'tab'  => 'cartback',
		);
		$this->assertSame( '', $this->admin_notices(), 'the settings tab shows the error next to the field' );

		$_GET = array();
		update_option( Cartback_Settings::SIDECAR_URL, self::SIDECAR );
		$this->assertSame( '', $this->admin_notices(), 'an https URL' );
		update_option( Cartback_Settings::SIDECAR_URL, 'http://localhost:8787' );
		$this->assertSame( '', $this->admin_notices(), 'a local URL' );
		update_option( Cartback_Settings::SIDECAR_URL, '' );
		$this->assertSame( '', $this->admin_notices(), 'no URL yet' );
	}

	public function test_connected_as_only_while_the_last_connect_succeeded() {
		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$this->assertStringContainsString( 'Connected as store.example.', $this->render_connect() );

		CB_Stub::$remote_handler = function () {
			return new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' );
		};
		$this->assertFalse( $this->admin()->run_connect()['ok'] );
		$html = $this->render_connect();
		$this->assertStringNotContainsString( 'Connected as', $html );
		$this->assertSame( array( 'order.created' => 1, 'order.updated' => 2 ), get_option( Cartback_Settings::CONNECTED )['webhooks'], 'the webhooks stay within reach' );

		$this->cartback_answers_ok();
		$this->assertTrue( $this->admin()->run_connect()['ok'] );
		$this->assertStringContainsString( 'Connected as store.example.', $this->render_connect() );

		// A URL the plugin refuses fails Connect too.
		update_option( Cartback_Settings::SIDECAR_URL, 'http://cartback.example' );
		$this->assertFalse( $this->admin()->run_connect()['ok'] );
		$this->assertStringNotContainsString( 'Connected as', $this->render_connect() );
	}

	public function test_connected_as_from_before_1_2_1() {
		// Written by an earlier Connect, which stored it only on success.
		update_option(
			Cartback_Settings::CONNECTED,
			array(
				'shop'     => 'store.example',
				'at'       => 1700000000,
				'webhooks' => array(),
			)
		);
		$this->assertStringContainsString( 'Connected as store.example.', $this->render_connect() );
	}

	public function test_private_address_is_refused_by_safe_requests() {
		update_option( Cartback_Settings::SIDECAR_URL, 'https://10.0.0.5' );
		$this->cartback_answers_ok();
		$this->assertFalse( $this->admin()->run_connect()['ok'] );
		$this->assertCount( 0, CB_Stub::$remote_calls );
	}

	public function test_settings_page_never_shows_the_secret() {
		$admin = $this->admin();
		$admin->register();
		ob_start();
		$admin->render();
		$html = ob_get_clean();
		$this->assertStringNotContainsString( self::SECRET, $html );
		$this->assertMatchesRegularExpression( '/name="cartback_secret" type="password" value=""/', $html );
		$this->assertStringContainsString( 'leave empty to keep the current secret', $html );
	}

	public function test_saving_an_empty_secret_keeps_it() {
		$admin = $this->admin();
		$admin->register();
		$_POST = array(
			Cartback_Settings::SIDECAR_URL => 'https://cartback.example',
			Cartback_Settings::SECRET      => '',
		);
		$admin->save();
		$this->assertSame( self::SECRET, get_option( Cartback_Settings::SECRET ) );
		$this->assertSame( array(), WC_Admin_Settings::$errors );

		$_POST[ Cartback_Settings::SECRET ] = 'rotated-secret-0123456789';
		$admin->save();
		$this->assertSame( 'rotated-secret-0123456789', get_option( Cartback_Settings::SECRET ) );
	}

	public function test_saving_a_plain_http_url_says_why_nothing_is_sent() {
		$admin = $this->admin();
		$admin->register();
		$_POST = array(
			Cartback_Settings::SIDECAR_URL => 'http://cartback.example',
			Cartback_Settings::SECRET      => '',
		);
		$admin->save();
		$this->assertCount( 1, WC_Admin_Settings::$errors );
		$this->assertStringContainsString( 'must start with https://', WC_Admin_Settings::$errors[0] );
	}

	public function test_connect_needs_settings() {
		update_option( Cartback_Settings::SIDECAR_URL, '' );
		$this->assertFalse( $this->admin()->run_connect()['ok'] );
		$this->assertCount( 0, CB_Stub::$remote_calls );
	}
}
