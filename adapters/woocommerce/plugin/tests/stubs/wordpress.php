<?php
/**
 * Small fakes of the WordPress functions and classes the plugin calls.
 *
 * @package Cartback\Tests
 */

// phpcs:disable

/**
 * State of the fakes, reset before each test.
 */
class CB_Stub {
	/** @var array<string,mixed> */
	public static $options = array();
	/** @var array<string,array<int,array{0:callable,1:int}>> */
	public static $hooks = array();
	/** @var array<int,array{method:string,url:string,args:array}> */
	public static $remote_calls = array();
	/** @var callable|null Returns the response of a remote call. */
	public static $remote_handler = null;
	/** @var array<int,array{0:string,1:string}> */
	public static $notices = array();
	/** @var string[] */
	public static $redirects = array();
	/** @var bool */
	public static $logged_in = false;
	/** @var array<string,array> */
	public static $rest_routes = array();
	/** @var array<int,array> Posts returned by get_posts(). */
	public static $posts = array();
	/** @var int[] */
	public static $deleted_posts = array();
	/** @var array<string,int> */
	public static $scheduled = array();
	/** @var array<int,string> Attachment URLs by id. */
	public static $attachments = array();
	/** @var array<string,array<string,string>> Terms by taxonomy: slug => name. */
	public static $terms = array();
	/** @var int How many times fastcgi_finish_request() ran. */
	public static $finished = 0;
	/** @var bool What fastcgi_finish_request() returns: false as where the response cannot be finished early. */
	public static $finish_result = true;
	/** @var bool|null Whether ignore_user_abort() was on when the response was finished. */
	public static $abort_ignored_at_finish = null;
	/** @var array<int,array{timestamp:int,hook:string,args:array,group:string}> Action Scheduler's actions. */
	public static $actions = array();
	/** @var string[] Capabilities of the current user. */
	public static $caps = array();
	/** @var bool What is_admin() says. */
	public static $is_admin = false;

	public static function reset() {
		self::$options        = array(
			'timezone_string' => 'Europe/Oslo',
			'woocommerce_price_num_decimals' => 2,
			'woocommerce_currency' => 'NOK',
			'WPLANG' => 'nb_NO',
		);
		self::$hooks          = array();
		self::$remote_calls   = array();
		self::$remote_handler = null;
		self::$notices        = array();
		self::$redirects      = array();
		self::$logged_in      = false;
		self::$rest_routes    = array();
		self::$posts          = array();
		self::$deleted_posts  = array();
		self::$scheduled      = array();
		self::$attachments    = array();
		self::$terms          = array();
		self::$finished       = 0;
		self::$finish_result  = true;
		self::$abort_ignored_at_finish = null;
		self::$actions        = array();
		self::$caps           = array();
		self::$is_admin       = false;
		ignore_user_abort( false );
		$_GET = $_POST = $_COOKIE = array();
		unset( $_SERVER['HTTP_USER_AGENT'], $_SERVER['REMOTE_ADDR'] );
	}
}

class WP_Error {
	private $code;
	private $message;
	private $data;
	public function __construct( $code = '', $message = '', $data = '' ) {
		$this->code    = $code;
		$this->message = $message;
		$this->data    = $data;
	}
	public function get_error_code() { return $this->code; }
	public function get_error_message() { return $this->message; }
	public function get_error_data() { return $this->data; }
}

class WP_REST_Request {
	private $method;
	private $route;
	private $headers = array();
	private $params  = array();
	private $body    = '';
	public function __construct( $method = 'GET', $route = '' ) {
		$this->method = $method;
		$this->route  = $route;
	}
	public function set_header( $name, $value ) {
		$this->headers[ strtolower( str_replace( '-', '_', $name ) ) ] = $value;
	}
	public function get_header( $name ) {
		$name = strtolower( str_replace( '-', '_', $name ) );
		return isset( $this->headers[ $name ] ) ? $this->headers[ $name ] : null;
	}
	public function set_body( $body ) { $this->body = $body; }
	public function get_body() { return $this->body; }
	public function get_json_params() { return json_decode( $this->body, true ); }
	public function set_param( $name, $value ) { $this->params[ $name ] = $value; }
	public function get_param( $name ) { return isset( $this->params[ $name ] ) ? $this->params[ $name ] : null; }
	public function get_method() { return $this->method; }
	public function get_route() { return $this->route; }
}

class WP_REST_Response {
	public $data;
	public $status;
	public function __construct( $data = null, $status = 200 ) {
		$this->data   = $data;
		$this->status = $status;
	}
	public function get_data() { return $this->data; }
	public function get_status() { return $this->status; }
}

if ( ! defined( 'HOUR_IN_SECONDS' ) ) {
	define( 'HOUR_IN_SECONDS', 3600 );
}

// Hooks.
function add_action( $hook, $callback, $priority = 10, $args = 1 ) {
	CB_Stub::$hooks[ $hook ][] = array( $callback, $priority, $args );
	return true;
}
function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {
	return add_action( $hook, $callback, $priority, $args );
}
function do_action( $hook, ...$args ) {
	if ( empty( CB_Stub::$hooks[ $hook ] ) ) {
		return;
	}
	$hooks = CB_Stub::$hooks[ $hook ];
	usort( $hooks, function ( $a, $b ) { return $a[1] - $b[1]; } );
	foreach ( $hooks as $h ) {
		call_user_func_array( $h[0], array_slice( $args, 0, $h[2] ) );
	}
}
function apply_filters( $hook, $value, ...$args ) {
	if ( empty( CB_Stub::$hooks[ $hook ] ) ) {
		return $value;
	}
	foreach ( CB_Stub::$hooks[ $hook ] as $h ) {
		$value = call_user_func_array( $h[0], array_slice( array_merge( array( $value ), $args ), 0, $h[2] ) );
	}
	return $value;
}
function remove_filter( $hook, $callback, $priority = 10 ) {
	if ( empty( CB_Stub::$hooks[ $hook ] ) ) {
		return false;
	}
	$removed = false;
	foreach ( CB_Stub::$hooks[ $hook ] as $i => $h ) {
		if ( $h[0] === $callback && $h[1] === $priority ) {
			unset( CB_Stub::$hooks[ $hook ][ $i ] );
			$removed = true;
		}
	}
	return $removed;
}
function remove_action( $hook, $callback, $priority = 10 ) {
	return remove_filter( $hook, $callback, $priority );
}
function has_action( $hook, $callback = false ) {
	if ( empty( CB_Stub::$hooks[ $hook ] ) ) {
		return false;
	}
	if ( false === $callback ) {
		return true;
	}
	foreach ( CB_Stub::$hooks[ $hook ] as $h ) {
		if ( $h[0] === $callback ) {
			return $h[1];
		}
	}
	return false;
}
function register_activation_hook( $file, $callback ) {}
function register_deactivation_hook( $file, $callback ) {}

// Options.
function get_option( $name, $default = false ) {
	return array_key_exists( $name, CB_Stub::$options ) ? CB_Stub::$options[ $name ] : $default;
}
function update_option( $name, $value, $autoload = null ) {
	CB_Stub::$options[ $name ] = $value;
	return true;
}
function delete_option( $name ) {
	unset( CB_Stub::$options[ $name ] );
	return true;
}
function get_transient( $name ) { return get_option( '_transient_' . $name ); }
function set_transient( $name, $value, $ttl = 0 ) { return update_option( '_transient_' . $name, $value ); }
function delete_transient( $name ) { return delete_option( '_transient_' . $name ); }

// URLs, text, sanitising.
function home_url( $path = '' ) { return 'https://store.example' . $path; }
function admin_url( $path = '' ) { return 'https://store.example/wp-admin/' . $path; }
function plugins_url( $path = '', $plugin = '' ) { return 'https://store.example/wp-content/plugins/cartback-for-woocommerce/' . $path; }
function plugin_basename( $file ) { return 'cartback-for-woocommerce/' . basename( $file ); }
function wp_parse_url( $url, $component = -1 ) { return parse_url( (string) $url, $component ); }
function wp_nonce_url( $url, $action = -1 ) { return $url . ( false === strpos( $url, '?' ) ? '?' : '&' ) . '_wpnonce=nonce'; }
function wp_hash( $data, $scheme = 'auth' ) { return hash_hmac( 'md5', (string) $data, 'salt-' . $scheme ); }
function add_query_arg( $key, $value, $url ) {
	return $url . ( false === strpos( $url, '?' ) ? '?' : '&' ) . rawurlencode( $key ) . '=' . rawurlencode( $value );
}
function __( $text, $domain = 'default' ) { return $text; }
function esc_html__( $text, $domain = 'default' ) { return htmlspecialchars( $text, ENT_QUOTES ); }
function esc_html( $text ) { return htmlspecialchars( (string) $text, ENT_QUOTES ); }
function esc_url( $url ) { return (string) $url; }
function wp_kses_post( $html ) { return (string) $html; }
function sanitize_text_field( $text ) { return trim( preg_replace( '/[\r\n\t ]+/', ' ', strip_tags( (string) $text ) ) ); }
function sanitize_email( $email ) { return trim( (string) $email ); }
function sanitize_title( $title ) {
	$title = strtolower( strip_tags( (string) $title ) );
	$title = preg_replace( '/[^a-z0-9_\-]+/', '-', $title );
	return trim( $title, '-' );
}
function taxonomy_exists( $taxonomy ) { return isset( CB_Stub::$terms[ $taxonomy ] ); }
function get_term_by( $field, $value, $taxonomy = '' ) {
	if ( 'slug' !== $field || ! isset( CB_Stub::$terms[ $taxonomy ][ $value ] ) ) {
		return false;
	}
	$term           = new stdClass();
	$term->slug     = $value;
	$term->name     = CB_Stub::$terms[ $taxonomy ][ $value ];
	$term->taxonomy = $taxonomy;
	return $term;
}
function wp_unslash( $value ) { return is_string( $value ) ? stripslashes( $value ) : $value; }
function is_email( $email ) { return false !== filter_var( (string) $email, FILTER_VALIDATE_EMAIL ) ? $email : false; }
function absint( $n ) { return abs( (int) $n ); }
function wp_json_encode( $data, $options = 0, $depth = 512 ) { return json_encode( $data, $options, $depth ); }
function is_wp_error( $thing ) { return $thing instanceof WP_Error; }
function wp_date( $format, $timestamp = null ) {
	$date = new DateTimeImmutable( '@' . ( null === $timestamp ? time() : $timestamp ) );
	return $date->setTimezone( new DateTimeZone( get_option( 'timezone_string', 'UTC' ) ) )->format( $format );
}
function determine_locale() { return (string) get_option( 'WPLANG', 'en_US' ); }
function get_locale() { return determine_locale(); }
function is_user_logged_in() { return CB_Stub::$logged_in; }
function get_current_user_id() { return CB_Stub::$logged_in ? 7 : 0; }
function wp_doing_ajax() { return false; }
function is_admin() { return CB_Stub::$is_admin; }
function current_user_can( $capability, ...$args ) { return in_array( $capability, CB_Stub::$caps, true ); }
function load_plugin_textdomain( $domain, $deprecated = false, $path = false ) { return true; }
function sanitize_key( $key ) { return preg_replace( '/[^a-z0-9_\-]/', '', strtolower( (string) $key ) ); }
function wp_get_attachment_image_url( $id, $size = 'thumbnail' ) {
	return isset( CB_Stub::$attachments[ $id ] ) ? CB_Stub::$attachments[ $id ] : false;
}
function nocache_headers() {}
function wp_safe_redirect( $url, $status = 302 ) {
	CB_Stub::$redirects[] = $url;
	return true;
}

// HTTP.
function wp_remote_request_stub( $method, $url, $args, $safe = false ) {
	CB_Stub::$remote_calls[] = array(
		'method'   => $method,
		'url'      => $url,
		'args'     => $args,
		// Whether it went through wp_safe_remote_*().
		'safe'     => $safe,
		// How often the response had been finished when it was sent.
		'finished' => CB_Stub::$finished,
	);
	if ( CB_Stub::$remote_handler ) {
		return call_user_func( CB_Stub::$remote_handler, $method, $url, $args );
	}
	return array(
		'response' => array( 'code' => 200 ),
		'body'     => '',
	);
}
function wp_remote_get( $url, $args = array() ) { return wp_remote_request_stub( 'GET', $url, $args ); }
function wp_remote_post( $url, $args = array() ) { return wp_remote_request_stub( 'POST', $url, $args ); }
/**
 * As wp_http_validate_url(): loopback and private addresses need the
 * http_request_host_is_external filter, ports other than 80, 443 and 8080
 * the http_allowed_safe_ports filter.
 */
function cb_stub_http_validate_url( $url ) {
	$host = (string) parse_url( $url, PHP_URL_HOST );
	if ( '' === $host ) {
		return false;
	}
	$private = 'localhost' === $host || preg_match( '/^(127|10)\.|^192\.168\.|^172\.(1[6-9]|2\d|3[01])\./', $host );
	if ( $private && ! apply_filters( 'http_request_host_is_external', false, $host, $url ) ) {
		return false;
	}
	$port = parse_url( $url, PHP_URL_PORT );
	if ( $port ) {
		$ports = apply_filters( 'http_allowed_safe_ports', array( 80, 443, 8080 ), $host, $url );
		if ( ! is_array( $ports ) || ! in_array( $port, $ports, true ) ) {
			return false;
		}
	}
	return $url;
}
function wp_http_validate_url( $url ) { return cb_stub_http_validate_url( $url ); }
function wp_safe_remote_request_stub( $method, $url, $args ) {
	if ( ! cb_stub_http_validate_url( $url ) ) {
		// As WP_Http::request() answers a URL it refuses.
		return new WP_Error( 'http_request_failed', 'A valid URL was not provided.' );
	}
	$args['reject_unsafe_urls'] = true;
	return wp_remote_request_stub( $method, $url, $args, true );
}
function wp_safe_remote_get( $url, $args = array() ) { return wp_safe_remote_request_stub( 'GET', $url, $args ); }
function wp_safe_remote_post( $url, $args = array() ) { return wp_safe_remote_request_stub( 'POST', $url, $args ); }
function wp_safe_remote_request( $url, $args = array() ) {
	return wp_safe_remote_request_stub( isset( $args['method'] ) ? $args['method'] : 'GET', $url, $args );
}
if ( ! function_exists( 'fastcgi_finish_request' ) ) {
	// PHP-FPM's, which the CLI lacks: counts the calls, and notes whether
	// the script was told to go on once the client has gone.
	function fastcgi_finish_request() {
		++CB_Stub::$finished;
		CB_Stub::$abort_ignored_at_finish = (bool) ignore_user_abort();
		return CB_Stub::$finish_result;
	}
}

// Action Scheduler, as WooCommerce bundles it.
function as_schedule_single_action( $timestamp, $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	CB_Stub::$actions[] = array(
		'timestamp' => $timestamp,
		'hook'      => $hook,
		'args'      => $args,
		'group'     => $group,
	);
	return count( CB_Stub::$actions );
}
/**
 * Cancels pending actions as Action Scheduler does: with args given (an
 * array, even an empty one), only actions with exactly those args.
 */
function as_unschedule_all_actions( $hook, $args = null, $group = '' ) {
	CB_Stub::$actions = array_values(
		array_filter(
			CB_Stub::$actions,
			function ( $a ) use ( $hook, $args, $group ) {
				$match = $a['hook'] === $hook && ( null === $args || $a['args'] === $args ) && ( '' === $group || $a['group'] === $group );
				return ! $match;
			}
		)
	);
}
/** Runs the actions scheduled so far, as Action Scheduler's queue runner does (do_action_ref_array()). */
function cb_stub_run_actions() {
	$actions          = CB_Stub::$actions;
	CB_Stub::$actions = array();
	foreach ( $actions as $action ) {
		do_action( $action['hook'], ...array_values( json_decode( wp_json_encode( $action['args'] ), true ) ) );
	}
	return count( $actions );
}
function wp_remote_retrieve_response_code( $response ) {
	return is_array( $response ) && isset( $response['response']['code'] ) ? $response['response']['code'] : '';
}
function wp_remote_retrieve_body( $response ) {
	return is_array( $response ) && isset( $response['body'] ) ? $response['body'] : '';
}

// REST, posts, cron.
function register_rest_route( $namespace, $route, $args ) {
	CB_Stub::$rest_routes[ '/' . $namespace . $route ] = $args;
	return true;
}
function get_posts( $args ) {
	CB_Stub::$posts['last_query'] = $args;
	return isset( CB_Stub::$posts['ids'] ) ? CB_Stub::$posts['ids'] : array();
}
function wp_delete_post( $id, $force = false ) {
	CB_Stub::$deleted_posts[] = $id;
	return true;
}
function wp_next_scheduled( $hook ) { return isset( CB_Stub::$scheduled[ $hook ] ) ? CB_Stub::$scheduled[ $hook ] : false; }
function wp_schedule_event( $time, $recurrence, $hook ) {
	CB_Stub::$scheduled[ $hook ] = $time;
	return true;
}
function wp_clear_scheduled_hook( $hook ) {
	unset( CB_Stub::$scheduled[ $hook ] );
	return 0;
}
