/*
 * ioc_identity: a Mosquitto 2.0 plugin (plugin API v5) with two rules the ACL file cannot say.
 *
 * 1. A broker account may use only its own client ids. A client that logs in as USER may
 *    connect with the client id USER or USER-anything, or the same after one of the
 *    prefixes in `plugin_opt_client_id_prefixes` (space separated; default "ioc-"), so the
 *    `ingester` account may be `ioc-ingester-1` and the `simulators` account
 *    `simulators-1234`. Any other id is refused at CONNECT ("not authorised"), before
 *    Mosquitto hands the client an existing session: without this rule any account could
 *    connect as `ioc-ingester-1`, take over the ingester's persistent session, kick the
 *    ingester off and have its queued events delivered to a client that may not read them
 *    (Mosquitto drops those). Ids the broker assigns itself to a client that sent none
 *    (`auto-...`) are allowed; an anonymous client (no username, where allowed) is left to
 *    the other checks.
 *
 * 2. No retained publishes on the topics in `plugin_opt_no_retain` (space separated topic
 *    filters; default "ioc/v1/#"): a retained event would be delivered again to every new
 *    subscriber, forever. The alerter's retained alert states elsewhere are unaffected, so a
 *    global retain switch would not do.
 *
 * Everything else is deferred to the password file and the ACL file (the callbacks of a
 * plugin run before Mosquitto's own checks; MOSQ_ERR_PLUGIN_DEFER passes the decision on).
 * Mosquitto 2.0 denies what every check deferred, so a broker without a password file sets
 * `plugin_opt_unmatched_login allow` and one without an ACL file `plugin_opt_unmatched_access
 * allow` (a local development broker): there the plugin allows what its rules do not refuse.
 * Build: `cc -shared -fPIC -O2 -o ioc_identity.so ioc_identity.c` with Mosquitto's
 * development headers (Debian: mosquitto-dev; Alpine: mosquitto-dev). scripts/bootstrap.sh
 * and mosquitto/Dockerfile do it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_ITEMS 16

struct ioc_identity {
	char *prefixes[MAX_ITEMS];
	int prefix_count;
	char *no_retain[MAX_ITEMS];
	int no_retain_count;
	char *storage[2];
	/* MOSQ_ERR_PLUGIN_DEFER, or MOSQ_ERR_SUCCESS with `unmatched_login/access allow` */
	int unmatched_login;
	int unmatched_access;
};

static mosquitto_plugin_id_t *plugin_id = NULL;
static struct ioc_identity config;

/* Split `value` (copied into *storage) at spaces into at most MAX_ITEMS items. */
static int split(const char *value, char **storage, char **items, int *count)
{
	char *copy, *save = NULL, *item;

	free(*storage);
	*storage = strdup(value);
	if(*storage == NULL) return MOSQ_ERR_NOMEM;
	*count = 0;
	copy = *storage;
	for(item = strtok_r(copy, " ", &save); item; item = strtok_r(NULL, " ", &save)){
		if(*count == MAX_ITEMS) return MOSQ_ERR_INVAL;
		items[(*count)++] = item;
	}
	return MOSQ_ERR_SUCCESS;
}

/* `id` is `name` or begins with `name-`. */
static bool names(const char *id, const char *name)
{
	size_t length = strlen(name);
	return strncmp(id, name, length) == 0 && (id[length] == '\0' || id[length] == '-');
}

static bool own_client_id(const char *id, const char *username)
{
	int i;
	size_t length;

	if(names(id, username)) return true;
	for(i = 0; i < config.prefix_count; i++){
		length = strlen(config.prefixes[i]);
		if(strncmp(id, config.prefixes[i], length) == 0 && names(id + length, username)){
			return true;
		}
	}
	return false;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *auth = event_data;
	const char *id = mosquitto_client_id(auth->client);
	(void)event;
	(void)userdata;

	if(auth->username == NULL) return MOSQ_ERR_PLUGIN_DEFER; /* allow_anonymous decides */
	if(id != NULL && (own_client_id(id, auth->username) || strncmp(id, "auto-", 5) == 0)){
		return config.unmatched_login; /* the password file decides */
	}
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			"ioc_identity: refused client id '%s' for user '%s': an account may use only "
			"client ids named after it", id ? id : "", auth->username);
	return MOSQ_ERR_AUTH;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *check = event_data;
	bool match;
	int i;
	(void)event;
	(void)userdata;

	if(check->access != MOSQ_ACL_WRITE || !check->retain) return config.unmatched_access;
	for(i = 0; i < config.no_retain_count; i++){
		match = false;
		if(mosquitto_topic_matches_sub(config.no_retain[i], check->topic, &match) == MOSQ_ERR_SUCCESS
				&& match){
			mosquitto_log_printf(MOSQ_LOG_NOTICE,
					"ioc_identity: refused a retained publish by '%s' on %s",
					mosquitto_client_id(check->client), check->topic);
			return MOSQ_ERR_ACL_DENIED;
		}
	}
	return config.unmatched_access;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;
	for(i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5) return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **user_data,
		struct mosquitto_opt *options, int option_count)
{
	int i, rc;
	const char *prefixes = "ioc-", *no_retain = "ioc/v1/#";
	int unmatched_login = MOSQ_ERR_PLUGIN_DEFER, unmatched_access = MOSQ_ERR_PLUGIN_DEFER;
	int *unmatched;

	for(i = 0; i < option_count; i++){
		if(strcmp(options[i].key, "client_id_prefixes") == 0){
			prefixes = options[i].value;
		}else if(strcmp(options[i].key, "no_retain") == 0){
			no_retain = options[i].value;
		}else if((strcmp(options[i].key, "unmatched_login") == 0
					|| strcmp(options[i].key, "unmatched_access") == 0)
				&& (strcmp(options[i].value, "allow") == 0
					|| strcmp(options[i].value, "defer") == 0)){
			unmatched = strcmp(options[i].key, "unmatched_login") == 0
				? &unmatched_login : &unmatched_access;
			*unmatched = strcmp(options[i].value, "allow") == 0
				? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
		}else{
			mosquitto_log_printf(MOSQ_LOG_ERR, "ioc_identity: unknown option plugin_opt_%s %s "
					"(client_id_prefixes, no_retain, unmatched_login/unmatched_access allow|defer)",
					options[i].key, options[i].value);
			return MOSQ_ERR_INVAL;
		}
	}
	memset(&config, 0, sizeof(config));
	config.unmatched_login = unmatched_login;
	config.unmatched_access = unmatched_access;
	rc = split(prefixes, &config.storage[0], config.prefixes, &config.prefix_count);
	if(rc == MOSQ_ERR_SUCCESS){
		rc = split(no_retain, &config.storage[1], config.no_retain, &config.no_retain_count);
	}
	if(rc != MOSQ_ERR_SUCCESS){
		mosquitto_log_printf(MOSQ_LOG_ERR, "ioc_identity: at most %d prefixes and filters",
				MAX_ITEMS);
		return rc;
	}
	*user_data = &config;
	plugin_id = identifier;
	rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
	if(rc == MOSQ_ERR_SUCCESS){
		rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
	}
	return rc;
}

int mosquitto_plugin_cleanup(void *user_data, struct mosquitto_opt *options, int option_count)
{
	(void)user_data;
	(void)options;
	(void)option_count;
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
	free(config.storage[0]);
	free(config.storage[1]);
	memset(&config, 0, sizeof(config));
	return MOSQ_ERR_SUCCESS;
}
