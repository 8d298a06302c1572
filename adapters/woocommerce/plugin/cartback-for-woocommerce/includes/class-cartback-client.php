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
	 * Seconds a cart event may take to go out. It is sent without waiting
	 * for cartback's answer, but connecting and sending still take up to
	 * this long.
	 */
	const EVENT_TIMEOUT = 2;

	/**
	 * Seconds a restore link waits for cartback: the shopper is waiting
	 * for the redirect.
	 */
	const RESTORE_TIMEOUT = 5;

	/**
	 * Seconds the Connect button waits for cartback.
	 */
	const PING_TIMEOUT = 10;

	/**
	 * Whether finish_response() has run.
	 *
	 * @var bool
	 */
	private $finished = false;

	/**
	 * Checks the sidecar URL and the secret.
	 *
	 * @return array{ok:bool,shop?:string,error?:string}
	 */
	public function ping() {
		$response = $this->signed_get( self::PING_PATH, self::PING_TIMEOUT );
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
		$response = $this->signed_get( self::RESTORE_PATH . $token, self::RESTORE_TIMEOUT );
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
	 * A non-blocking request still connects and hands over the body before
	 * it returns (with cURL, until the timeout), so the timeout is short and
	 * the capture finishes the shopper's response first (finish_response()).
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
			'timeout'     => self::EVENT_TIMEOUT,
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
		 * @param array  $args  wp_safe_remote_post() arguments.
		 * @param string $topic cart.updated or cart.deleted.
		 */
		$args = (array) apply_filters( 'cartback_event_request_args', $args, $topic );
		$this->request( 'POST', Cartback_Settings::webhook_url(), $args );
	}

	/**
	 * Sends the response to the shopper and closes the connection, where the
	 * server allows it (PHP-FPM, LiteSpeed), so that the shopper does not
	 * wait while the cart events go out. Output after this is discarded, so
	 * the capture calls it last on shutdown, after WooCommerce has saved the
	 * session: the shopper's next request must find the session saved.
	 *
	 * @return void
	 */
	public function finish_response() {
		if ( $this->finished ) {
			return;
		}
		$this->finished = true;
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		} elseif ( function_exists( 'litespeed_finish_request' ) ) {
			litespeed_finish_request();
		}
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
	 * @param string $path    Path starting with /api/.
	 * @param int    $timeout Seconds to wait for the answer.
	 * @return array|WP_Error
	 */
	private function signed_get( $path, $timeout ) {
		if ( ! Cartback_Settings::is_configured() ) {
			$error = Cartback_Settings::sidecar_url_error();
			return new WP_Error( 'cartback_not_configured', '' !== $error ? $error : __( 'Enter the cartback URL and the secret first.', 'cartback-for-woocommerce' ) );
		}
		return $this->request(
			'GET',
			Cartback_Settings::sidecar_url() . $path,
			array(
				'timeout'     => $timeout,
				'redirection' => 0,
				'user-agent'  => 'cartback-for-woocommerce/' . CARTBACK_VERSION,
				'headers'     => array_merge(
					array( 'Accept' => 'application/json' ),
					Cartback_Signer::request_headers( 'GET', $path, Cartback_Settings::secret(), time() )
				),
			)
		);
	}

	/**
	 * Makes a request with WordPress's safe HTTP functions, which refuse
	 * hosts that resolve to loopback or private network addresses and ports
	 * other than 80, 443 and 8080 (wp_http_validate_url()).
	 *
	 * A cartback on this machine (http://localhost:8787 while developing)
	 * is such a host: it is let through for this request only, and only
	 * because the merchant typed it as the cartback URL.
	 *
	 * @param string $method GET or POST.
	 * @param string $url    The URL, on the cartback server.
	 * @param array  $args   wp_safe_remote_*() arguments.
	 * @return array|WP_Error
	 */
	private function request( $method, $url, array $args ) {
		$host = Cartback_Settings::is_local_url( $url ) ? strtolower( (string) wp_parse_url( $url, PHP_URL_HOST ) ) : '';
		$port = (int) wp_parse_url( $url, PHP_URL_PORT );

		$allow_host = static function ( $external, $requested_host ) use ( $host ) {
			return $external || strtolower( (string) $requested_host ) === $host;
		};
		$allow_port = static function ( $ports, $requested_host ) use ( $host, $port ) {
			if ( $port && is_array( $ports ) && strtolower( (string) $requested_host ) === $host ) {
				$ports[] = $port;
			}
			return $ports;
		};
		if ( '' !== $host ) {
			add_filter( 'http_request_host_is_external', $allow_host, 10, 2 );
			add_filter( 'http_allowed_safe_ports', $allow_port, 10, 2 );
		}
		try {
			return 'POST' === $method ? wp_safe_remote_post( $url, $args ) : wp_safe_remote_get( $url, $args );
		} finally {
			if ( '' !== $host ) {
				remove_filter( 'http_request_host_is_external', $allow_host, 10 );
				remove_filter( 'http_allowed_safe_ports', $allow_port, 10 );
			}
		}
	}
}
