<?php
/**
 * Requests to the cartback server.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Talks to cartback: the connection check, restores and cart events.
 */
class Cartback_Client {

	const PING_PATH    = '/api/woocommerce/ping';
	const RESTORE_PATH = '/api/woocommerce/restore/';

	/**
	 * Checks the sidecar URL and the secret.
	 *
	 * @return array{ok:bool,shop?:string,error?:string}
	 */
	public function ping() {
		$response = $this->signed_get( self::PING_PATH );
		if ( is_wp_error( $response ) ) {
			return array(
				'ok'    => false,
				'error' => $response->get_error_message(),
			);
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		$body = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 === $code && is_array( $body ) && ! empty( $body['ok'] ) ) {
			return array(
				'ok'   => true,
				'shop' => isset( $body['shop'] ) ? (string) $body['shop'] : '',
			);
		}
		if ( 401 === $code ) {
			$error = __( 'cartback refused the secret. Check that it is this shop\'s webhook secret and that the shop is registered under this site\'s domain.', 'cartback-for-woocommerce' );
		} else {
			/* translators: %d: HTTP status code */
			$error = sprintf( __( 'cartback answered with HTTP status %d.', 'cartback-for-woocommerce' ), $code );
		}
		return array(
			'ok'    => false,
			'error' => $error,
		);
	}

	/**
	 * Asks cartback for the cart a restore token names.
	 *
	 * @param string $token Restore token from the link.
	 * @return array{status:string,cart?:array} status is "ok", "invalid" (404 or 410), "bought" (409) or "error".
	 */
	public function restore( $token ) {
		$response = $this->signed_get( self::RESTORE_PATH . $token );
		if ( is_wp_error( $response ) ) {
			return array( 'status' => 'error' );
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		if ( 404 === $code || 410 === $code ) {
			return array( 'status' => 'invalid' );
		}
		if ( 409 === $code ) {
			return array( 'status' => 'bought' );
		}
		$cart = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 !== $code || ! is_array( $cart ) || ! isset( $cart['items'] ) || ! is_array( $cart['items'] ) ) {
			return array( 'status' => 'error' );
		}
		return array(
			'status' => 'ok',
			'cart'   => $cart,
		);
	}

	/**
	 * Sends a cart event like WooCommerce sends a webhook, without waiting
	 * for the answer.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $revision Tells apart events with the same body that are
	 *                         not resends of one another.
	 * @return void
	 */
	public function send_event( $topic, $body, $revision = '' ) {
		if ( ! Cartback_Settings::is_configured() ) {
			return;
		}
		$args = array(
			'method'      => 'POST',
			'timeout'     => 5,
			'blocking'    => false,
			'redirection' => 0,
			'user-agent'  => 'cartback-for-woocommerce/' . CARTBACK_VERSION,
			'headers'     => self::event_headers( $topic, $body, Cartback_Settings::secret(), $revision ),
			'body'        => $body,
			'data_format' => 'body',
		);
		/**
		 * Filters the arguments of a cart event's request.
		 *
		 * @param array  $args  wp_remote_post() arguments.
		 * @param string $topic cart.updated or cart.deleted.
		 */
		wp_remote_post( Cartback_Settings::webhook_url(), apply_filters( 'cartback_event_request_args', $args, $topic ) );
	}

	/**
	 * The headers of a cart event, as docs/woocommerce-events.md lists them.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $secret   The shop's webhook secret.
	 * @param string $revision Tells apart events with the same body that are
	 *                         not resends of one another.
	 * @return array<string,string>
	 */
	public static function event_headers( $topic, $body, $secret, $revision = '' ) {
		return array(
			'Content-Type'             => 'application/json',
			'X-WC-Webhook-Topic'       => $topic,
			'X-WC-Webhook-Source'      => Cartback_Settings::store_url(),
			'X-WC-Webhook-Signature'   => Cartback_Signer::sign_body( $body, $secret ),
			// A resend of the same event gets the same id, so it is a retry.
			'X-WC-Webhook-Delivery-ID' => substr( hash( 'sha256', $topic . "\n" . $revision . "\n" . $body ), 0, 32 ),
		);
	}

	/**
	 * A signed GET to cartback.
	 *
	 * @param string $path Path starting with /api/.
	 * @return array|WP_Error
	 */
	private function signed_get( $path ) {
		if ( ! Cartback_Settings::is_configured() ) {
			return new WP_Error( 'cartback_not_configured', __( 'Enter the cartback URL and the secret first.', 'cartback-for-woocommerce' ) );
		}
		return wp_remote_get(
			Cartback_Settings::sidecar_url() . $path,
			array(
				'timeout'     => 10,
				'redirection' => 0,
				'user-agent'  => 'cartback-for-woocommerce/' . CARTBACK_VERSION,
				'headers'     => array_merge(
					array( 'Accept' => 'application/json' ),
					Cartback_Signer::request_headers( 'GET', $path, Cartback_Settings::secret(), time() )
				),
			)
		);
	}
}
