#!KAMAILIO
# Test registrar + proxy for blink-tui. Generated per test run by tests/helpers/kamailio.ts, which
# replaces the @@NAME@@ placeholders. Listens on one loopback address only (127.0.0.1 unless the test
# gives its own); no database (usrloc db_mode 0,
# passwords in an htable filled at start-up).

debug=@@DEBUG@@
log_stderror=yes
log_facility=LOG_LOCAL0
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=no
listen=udp:@@HOST@@:@@UDP_PORT@@
listen=tcp:@@HOST@@:@@TCP_PORT@@
alias="@@DOMAIN@@"
tcp_connection_lifetime=600
server_header="Server: blink-tui-test-kamailio"
user_agent_header="User-Agent: blink-tui-test-kamailio"

mpath="@@MPATH@@"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "htable.so"
loadmodule "auth.so"

modparam("usrloc", "db_mode", 0)
modparam("usrloc", "use_domain", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 1)
modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)
modparam("tm", "fr_timer", 8000)
modparam("tm", "fr_inv_timer", 60000)
modparam("htable", "htable", "users=>size=6;")
modparam("auth", "nonce_expire", 300)

event_route[htable:mod-init] {
@@USERS@@
}

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (!sanity_check("17895", "7")) {
		xlog("L_WARN", "malformed request from $si:$sp dropped\n");
		exit;
	}
	force_rport();

	# readiness probe and keep-alive
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "Ready");
		exit;
	}

	# in-dialog requests follow the record-routed path
	if (has_totag()) {
		if (loose_route()) {
			route(RELAY);
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				route(RELAY);
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}

	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}

	# absorb retransmissions of requests already being handled
	if (!is_method("ACK")) {
		if (t_precheck_trans()) {
			t_check_trans();
			exit;
		}
		t_check_trans();
	}

	if (is_method("REGISTER")) {
		if (!pv_auth_check("$td", "$sht(users=>$tU)", "0", "1")) {
			xlog("L_INFO", "REGISTER of $tU from $si:$sp challenged (auth result $rc)\n");
			auth_challenge("$td", "1");
			exit;
		}
		consume_credentials();
		if (!save("location")) {
			sl_reply_error();
		}
		exit;
	}

	if (is_method("INVITE|MESSAGE|OPTIONS|SUBSCRIBE")) {
		if (from_uri == myself) {
			if (!pv_auth_check("$fd", "$sht(users=>$fU)", "0", "1")) {
				auth_challenge("$fd", "1");
				exit;
			}
			consume_credentials();
		}
	}

	if (uri == myself) {
		if (is_method("INVITE")) {
			record_route();
		}
		$var(rc) = lookup("location");
		if ($var(rc) < 0) {
			if ($var(rc) == -1 || $var(rc) == -3) {
				sl_send_reply("404", "Not Found");
			} else {
				sl_send_reply("480", "Temporarily Unavailable");
			}
			exit;
		}
	}
	route(RELAY);
}

route[RELAY] {
	if (!t_relay()) {
		sl_reply_error();
	}
	exit;
}
