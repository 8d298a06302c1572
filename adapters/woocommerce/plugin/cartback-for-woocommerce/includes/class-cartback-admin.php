<?php
/**
 * The settings tab and the Connect button.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce → Settings → cartback.
 */
class Cartback_Admin {

	const TAB    = 'cartback';
	const ACTION = 'cartback_connect';

	/**
	 * Checks the connection.
	 *
	 * @var Cartback_Client
	 */
	private $client;

	/**
	 * Creates the order webhooks.
	 *
	 * @var Cartback_Webhooks
	 */
	private $webhooks;

	/**
	 * Constructor.
	 *
	 * @param Cartback_Client   $client   Checks the connection.
	 * @param Cartback_Webhooks $webhooks Creates the order webhooks.
	 */
	public function __construct( Cartback_Client $client, Cartback_Webhooks $webhooks ) {
		$this->client   = $client;
		$this->webhooks = $webhooks;
	}

	/**
	 * Hooks into the admin.
	 *
	 * @return void
	 */
	public function register() {
		add_filter( 'woocommerce_settings_tabs_array', array( $this, 'add_tab' ), 50 );
		add_action( 'woocommerce_settings_tabs_' . self::TAB, array( $this, 'render' ) );
		add_action( 'woocommerce_update_options_' . self::TAB, array( $this, 'save' ) );
		add_filter( 'woocommerce_admin_settings_sanitize_option_' . Cartback_Settings::SECRET, array( $this, 'keep_secret' ), 10, 3 );
		add_action( 'woocommerce_admin_field_cartback_connect', array( $this, 'render_connect' ) );
		add_action( 'admin_post_' . self::ACTION, array( $this, 'connect' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( CARTBACK_FILE ), array( $this, 'action_links' ) );
		add_action( 'admin_notices', array( $this, 'url_notice' ) );
	}

	/**
	 * A notice on every admin page, for those who can change the settings,
	 * while the cartback URL is set but refused (see
	 * Cartback_Settings::sidecar_url_error()): the plugin then sends no
	 * carts and restores no links, which shoppers do not notice and the
	 * merchant would not either. A shop updated from before 1.2.0 with an
	 * http:// URL is in that state.
	 *
	 * The settings tab shows the same error next to the Connect button, so
	 * it is left out there.
	 *
	 * @return void
	 */
	public function url_notice() {
		if ( ! current_user_can( 'manage_woocommerce' ) || self::is_settings_tab() ) {
			return;
		}
		$error = Cartback_Settings::sidecar_url_error();
		if ( '' === $error ) {
			return;
		}
		echo '<div class="notice notice-error"><p><strong>' . esc_html__( 'cartback for WooCommerce sends no carts to cartback and restores no reminder links.', 'cartback-for-woocommerce' ) . '</strong> '
			. esc_html( $error ) . ' <a href="' . esc_url( self::settings_url() ) . '">'
			. esc_html__( 'Change the cartback URL, save, and press Connect again.', 'cartback-for-woocommerce' ) . '</a></p></div>';
	}

	/**
	 * Whether the page is the plugin's settings tab.
	 *
	 * @return bool
	 */
	private static function is_settings_tab() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- only reads which page this is.
		$page = isset( $_GET['page'] ) ? sanitize_key( wp_unslash( $_GET['page'] ) ) : '';
		$tab  = isset( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : '';
		// phpcs:enable WordPress.Security.NonceVerification.Recommended
		return 'wc-settings' === $page && self::TAB === $tab;
	}

	/**
	 * Adds the tab.
	 *
	 * @param array $tabs Tabs by id.
	 * @return array
	 */
	public function add_tab( $tabs ) {
		$tabs[ self::TAB ] = __( 'cartback', 'cartback-for-woocommerce' );
		return $tabs;
	}

	/**
	 * A "Settings" link in the plugin list.
	 *
	 * @param array $links Links.
	 * @return array
	 */
	public function action_links( $links ) {
		array_unshift( $links, '<a href="' . esc_url( self::settings_url() ) . '">' . esc_html__( 'Settings', 'cartback-for-woocommerce' ) . '</a>' );
		return $links;
	}

	/**
	 * The tab's fields, for WC_Admin_Settings.
	 *
	 * @return array
	 */
	public function fields() {
		return array(
			array(
				'title' => __( 'cartback', 'cartback-for-woocommerce' ),
				'type'  => 'title',
				'desc'  => __( 'cartback reminds shoppers who left a cart, by email or text, and brings them back to it. Register this shop on your cartback server, enter its URL and the webhook secret it answered with, save, then connect.', 'cartback-for-woocommerce' ),
				'id'    => 'cartback_connection',
			),
			array(
				'title'       => __( 'cartback URL', 'cartback-for-woocommerce' ),
				'desc'        => __( 'The address of your cartback server, e.g. https://cartback.example.com', 'cartback-for-woocommerce' ),
				'id'          => Cartback_Settings::SIDECAR_URL,
				'type'        => 'url',
				'placeholder' => 'https://',
				'default'     => '',
			),
			array(
				'title'             => __( 'Secret', 'cartback-for-woocommerce' ),
				'desc'              => '' === Cartback_Settings::secret()
					? __( 'The shop\'s webhook secret, as cartback answered when the shop was registered.', 'cartback-for-woocommerce' )
					: __( 'The shop\'s webhook secret, as cartback answered when the shop was registered. A secret is saved; leave empty to keep the current secret.', 'cartback-for-woocommerce' ),
				'id'                => Cartback_Settings::SECRET,
				'type'              => 'password',
				'default'           => '',
				// Never sent back to the browser, where it would sit in the
				// page's source.
				'value'             => '',
				// Browsers fill an empty password field with the login's
				// password, which saving would then store as the secret.
				'custom_attributes' => array( 'autocomplete' => 'new-password' ),
			),
			array(
				'type'      => 'cartback_connect',
				'id'        => 'cartback_connect',
				'is_option' => false,
			),
			array(
				'type' => 'sectionend',
				'id'   => 'cartback_connection',
			),
			array(
				'title' => __( 'Consent at checkout', 'cartback-for-woocommerce' ),
				'type'  => 'title',
				'desc'  => __( 'Leave a text empty to show nothing. Texts are only sent to shoppers who tick the SMS checkbox.', 'cartback-for-woocommerce' ),
				'id'    => 'cartback_consent',
			),
			array(
				'title'       => __( 'SMS consent checkbox', 'cartback-for-woocommerce' ),
				'desc'        => __( 'Label of an optional checkbox, e.g. "Text me a reminder about my cart".', 'cartback-for-woocommerce' ),
				'id'          => Cartback_Settings::SMS_CONSENT_LABEL,
				'type'        => 'text',
				'default'     => '',
				'css'         => 'min-width:400px;',
			),
			array(
				'title'   => __( 'Email consent checkbox', 'cartback-for-woocommerce' ),
				'desc'    => __( 'Label of an optional checkbox for marketing email, for shops whose cartback requires it.', 'cartback-for-woocommerce' ),
				'id'      => Cartback_Settings::EMAIL_CONSENT_LABEL,
				'type'    => 'text',
				'default' => '',
				'css'     => 'min-width:400px;',
			),
			array(
				'title'   => __( 'Email notice', 'cartback-for-woocommerce' ),
				'desc'    => __( 'Shown under the billing details of the classic checkout, e.g. "If you don\'t finish your order, we\'ll email you a reminder."', 'cartback-for-woocommerce' ),
				'id'      => Cartback_Settings::EMAIL_NOTICE,
				'type'    => 'textarea',
				'default' => '',
				'css'     => 'min-width:400px;',
			),
			array(
				'type' => 'sectionend',
				'id'   => 'cartback_consent',
			),
		);
	}

	/**
	 * Renders the tab.
	 *
	 * @return void
	 */
	public function render() {
		WC_Admin_Settings::output_fields( $this->fields() );
	}

	/**
	 * Saves the tab.
	 *
	 * @return void
	 */
	public function save() {
		WC_Admin_Settings::save_fields( $this->fields() );
		$error = Cartback_Settings::sidecar_url_error();
		if ( '' !== $error ) {
			WC_Admin_Settings::add_error( $error );
		}
	}

	/**
	 * The secret field is shown empty: submitted empty, it keeps the saved
	 * secret (null tells WooCommerce not to save the option).
	 *
	 * @param mixed $value     The sanitized value.
	 * @param array $option    The field.
	 * @param mixed $raw_value The submitted value.
	 * @return mixed
	 */
	public function keep_secret( $value, $option, $raw_value ) {
		return '' === trim( (string) $raw_value ) ? null : $value;
	}

	/**
	 * The Connect button and the connection's state.
	 *
	 * @return void
	 */
	public function render_connect() {
		$url       = wp_nonce_url( admin_url( 'admin-post.php?action=' . self::ACTION ), self::ACTION );
		$connected = get_option( Cartback_Settings::CONNECTED );
		$result    = get_transient( 'cartback_connect_result_' . get_current_user_id() );
		echo '<tr valign="top"><th scope="row" class="titledesc">' . esc_html__( 'Connection', 'cartback-for-woocommerce' ) . '</th><td class="forminp">';
		if ( is_array( $result ) ) {
			delete_transient( 'cartback_connect_result_' . get_current_user_id() );
			echo '<div class="notice inline ' . ( $result['ok'] ? 'notice-success' : 'notice-error' ) . '"><p>' . esc_html( $result['message'] ) . '</p></div>';
		}
		$url_error = Cartback_Settings::sidecar_url_error();
		if ( '' !== $url_error ) {
			echo '<div class="notice inline notice-error"><p>' . esc_html( $url_error ) . '</p></div>';
		}
		foreach ( $this->webhook_warnings() as $warning ) {
			echo '<div class="notice inline notice-warning"><p>' . esc_html( $warning ) . '</p></div>';
		}
		echo '<a class="button button-secondary" href="' . esc_url( $url ) . '">' . esc_html__( 'Connect', 'cartback-for-woocommerce' ) . '</a> ';
		// Only while the last Connect succeeded: after a failed one, the
		// error above is what holds.
		if ( is_array( $connected ) && ! empty( $connected['shop'] ) && ( ! isset( $connected['ok'] ) || $connected['ok'] ) ) {
			/* translators: %s: the shop's domain as cartback knows it */
			echo '<span>' . esc_html( sprintf( __( 'Connected as %s.', 'cartback-for-woocommerce' ), $connected['shop'] ) ) . '</span>';
		}
		echo '<p class="description">' . esc_html__( 'Save your changes first. Connecting checks the URL and the secret, and creates the order.created and order.updated webhooks to cartback.', 'cartback-for-woocommerce' ) . '</p>';
		echo '</td></tr>';
	}

	/**
	 * What is wrong with the order webhooks Connect made: orders reach
	 * cartback only through them, and WooCommerce disables one quietly
	 * after its deliveries fail five times in a row.
	 *
	 * @return string[] One line per webhook that is not active.
	 */
	public function webhook_warnings() {
		$warnings = array();
		foreach ( Cartback_Webhooks::connected_statuses() as $topic => $status ) {
			if ( 'active' === $status ) {
				continue;
			}
			if ( '' === $status ) {
				/* translators: %s: webhook topic, e.g. order.created */
				$warnings[] = sprintf( __( 'The %s webhook to cartback has been deleted, so cartback does not hear of orders. Press Connect again to create it.', 'cartback-for-woocommerce' ), $topic );
			} else {
				/* translators: 1: webhook topic, e.g. order.created; 2: its status in WooCommerce, e.g. disabled or paused */
				$warnings[] = sprintf( __( 'The %1$s webhook to cartback is %2$s in WooCommerce (WooCommerce disables a webhook whose deliveries keep failing), so cartback does not hear of orders. Check that cartback is reachable, then press Connect again to turn it back on.', 'cartback-for-woocommerce' ), $topic, $status );
			}
		}
		return $warnings;
	}

	/**
	 * The Connect button: checks the URL and the secret against cartback and
	 * creates the order webhooks.
	 *
	 * @return void
	 */
	public function connect() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'cartback-for-woocommerce' ), 403 );
		}
		check_admin_referer( self::ACTION );
		$result = $this->run_connect();
		set_transient( 'cartback_connect_result_' . get_current_user_id(), $result, 60 );
		wp_safe_redirect( self::settings_url() );
		exit;
	}

	/**
	 * Does the connecting.
	 *
	 * @return array{ok:bool,message:string}
	 */
	public function run_connect() {
		$url_error = Cartback_Settings::sidecar_url_error();
		if ( '' !== $url_error ) {
			return self::connect_failed( $url_error );
		}
		if ( ! Cartback_Settings::is_configured() ) {
			return self::connect_failed( __( 'Enter the cartback URL and the secret, and save, before connecting.', 'cartback-for-woocommerce' ) );
		}
		$ping = $this->client->ping();
		if ( ! $ping['ok'] ) {
			/* translators: %s: the reason */
			return self::connect_failed( sprintf( __( 'Could not connect to cartback: %s', 'cartback-for-woocommerce' ), $ping['error'] ) );
		}
		$ids = $this->webhooks->ensure( Cartback_Settings::webhook_url(), Cartback_Settings::secret() );
		update_option(
			Cartback_Settings::CONNECTED,
			array(
				'shop'     => $ping['shop'],
				'at'       => time(),
				'webhooks' => $ids,
				'ok'       => true,
			),
			false
		);
		return array(
			'ok'      => true,
			/* translators: %s: the shop's domain as cartback knows it */
			'message' => sprintf( __( 'Connected to cartback as %s. The order webhooks are active.', 'cartback-for-woocommerce' ), $ping['shop'] ),
		);
	}

	/**
	 * Notes that Connect failed, so that the settings page no longer says
	 * the shop is connected.
	 *
	 * The cartback_connected option is kept: it holds the ids of the
	 * webhooks an earlier Connect made, which still exist and which
	 * deactivating or deleting the plugin must still reach.
	 *
	 * @param string $message Why.
	 * @return array{ok:bool,message:string}
	 */
	private static function connect_failed( $message ) {
		$connected = get_option( Cartback_Settings::CONNECTED );
		if ( is_array( $connected ) && ( ! isset( $connected['ok'] ) || $connected['ok'] ) ) {
			$connected['ok'] = false;
			update_option( Cartback_Settings::CONNECTED, $connected, false );
		}
		return array(
			'ok'      => false,
			'message' => $message,
		);
	}

	/**
	 * The settings tab's URL.
	 *
	 * @return string
	 */
	public static function settings_url() {
		return admin_url( 'admin.php?page=wc-settings&tab=' . self::TAB );
	}
}
