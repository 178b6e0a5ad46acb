/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/fleet: the fleet file parser, every error, hosts and resolution. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/fleet/fleet.h"
#include "../../lib/util/units.h"

static const char *const good =
	"; a comment\n"
	"[fleet]\n"
	"name = prod\n"
	"balancer = http://127.0.0.1:8080      ; inline comment\n"
	"api_key_file = /etc/obridge/key\n"
	"\n"
	"[instance gpu-1]\n"
	"url = http://10.0.1.1:11434\n"
	"weight = 3\n"
	"group = gpu\n"
	"metrics_url = http://10.0.1.1:9400/metrics\n"
	"\n"
	"[instance gpu-2]\n"
	"url = 10.0.1.2\n"
	"group = gpu\n"
	"\n"
	"[instance cpu-1]\n"
	"url = http://10.0.1.3:11434\n"
	"backup = true\n"
	"group = cpu\n"
	"instance_hour = 0.25\n"
	"\n"
	"[model deepseek-r1:7b]\n"
	"keep_alive = 24h\n"
	"num_ctx = 8192\n"
	"groups = gpu cpu\n"
	"\n"
	"[model Llama3.2]\n"
	"keep_alive = -1\n"
	"groups = gpu\n"
	"\n"
	"[model qwen2.5:0.5b]\n"
	"\n"
	"[route]\n"
	"long_prompt_bytes = 4096\n"
	"long_group = gpu\n"
	"\n"
	"[slo]\n"
	"ttft_p95 = 800ms\n"
	"e2e_p99 = 20s\n"
	"itl_p99 = 50ms\n"
	"tpot_p95 = 40ms\n"
	"error_rate = 1%\n"
	"\n"
	"[cost]\n"
	"instance_hour = 1.20\n"
	"instance_hour.gpu = 2.50\n"
	"cloud_per_1m_output = 0.60\n";

static void test_good_file(void **state)
{
	(void)state;
	struct fleet f;
	char err[ERR_MAX] = "";
	assert_int_equal(fleet_parse_string(&f, good, "prod.conf", err), 0);
	assert_string_equal(f.name, "prod");
	assert_string_equal(f.balancer, "http://127.0.0.1:8080");
	assert_string_equal(f.api_key_file, "/etc/obridge/key");
	assert_int_equal(f.ninstances, 3);
	assert_string_equal(f.instances[0].name, "gpu-1");
	assert_int_equal(f.instances[0].weight, 3);
	assert_string_equal(f.instances[0].metrics_url, "http://10.0.1.1:9400/metrics");
	assert_string_equal(f.instances[1].url, "http://10.0.1.2:11434");
	assert_int_equal(f.instances[1].weight, 1);
	assert_int_equal(f.instances[2].backup, 1);
	assert_int_equal(f.instances[2].line, 17);
	/* [cost]: the fleet's price, a group's, an instance's own */
	assert_true(f.cost.has_instance_hour);
	assert_true(f.cost.instance_hour == 1.20);
	assert_true(f.cost.has_cloud && f.cost.cloud_per_1m_output == 0.60);
	assert_true(fleet_instance_hour(&f, &f.instances[0]) == 2.50);
	assert_true(fleet_instance_hour(&f, &f.instances[2]) == 0.25);
	assert_int_equal(f.nmodels, 3);
	assert_string_equal(f.models[0].name, "deepseek-r1:7b");
	assert_int_equal(f.models[0].keep_alive_ns, 24LL * 3600 * 1000000000LL);
	assert_int_equal(f.models[0].num_ctx, 8192);
	assert_int_equal(f.models[0].ngroups, 2);
	assert_string_equal(f.models[1].name, "llama3.2:latest");
	assert_true(f.models[1].keep_alive_ns == DURATION_FOREVER);
	/* an empty section still defines the model, on every instance */
	assert_string_equal(f.models[2].name, "qwen2.5:0.5b");
	assert_int_equal(f.models[2].has_keep_alive, 0);
	assert_true(fleet_model_on_instance(&f.models[2], &f.instances[2]));
	assert_false(fleet_model_on_instance(&f.models[1], &f.instances[2]));
	assert_true(fleet_model_on_instance(&f.models[1], &f.instances[0]));
	assert_non_null(fleet_find_model(&f, "LLAMA3.2:latest"));
	assert_non_null(fleet_find_model(&f, "library/llama3.2"));
	assert_int_equal(f.long_prompt_bytes, 4096);
	assert_string_equal(f.long_group, "gpu");
	/* every [slo] key is kept, not only ttft_p95 */
	assert_int_equal(f.slo.mask, (1u << SLO_TTFT_P95) | (1u << SLO_E2E_P99) |
				     (1u << SLO_ITL_P99) | (1u << SLO_TPOT_P95) |
				     (1u << SLO_ERROR_RATE));
	assert_true(f.slo.limit[SLO_TTFT_P95] == 800e6);
	assert_true(f.slo.limit[SLO_E2E_P99] == 20e9);
	assert_true(f.slo.limit[SLO_ERROR_RATE] == 0.01);
	assert_int_equal(f.slo_line[SLO_E2E_P99], 40);
	char *json = fleet_to_json(&f);
	assert_non_null(strstr(json, "\"name\":\"prod\""));
	assert_non_null(strstr(json, "\"ttft_p95\":0.8"));
	assert_non_null(strstr(json, "\"gpu\":[\"gpu-1\",\"gpu-2\"]"));
	free(json);
	fleet_release(&f);
}

struct bad_case {
	const char *text;
	const char *want; /* substring of the error */
};

static const struct bad_case bad[] = {
	{ "[fleet]\nname = x\n", "t.conf: no instances defined" },
	{ "[instance a]\nurl = http://h:1\n[bogus]\n", "t.conf:3: unknown section [bogus]" },
	{ "[instance a]\nurl = http://h:1\ncolour = red\n", "t.conf:3: unknown key 'colour' in [instance a]" },
	{ "[instance a]\nurl = h\n[instance a]\nurl = g\n", "t.conf:3: duplicate instance 'a' (first defined at line 1)" },
	{ "[instance a]\nurl = ftp://h\n", "t.conf:2: url: unsupported scheme 'ftp'" },
	{ "[instance a]\nurl = http://h:99999\n", "t.conf:2: url: invalid port" },
	{ "[instance a]\nurl = h\nweight = 0\n", "t.conf:3: weight: '0' is not a whole number from 1 to 1000" },
	{ "[instance a]\nurl = h\nweight = 1001\n", "t.conf:3: weight" },
	{ "[instance a]\nurl = h\nweight = 3x\n", "t.conf:3: weight" },
	{ "[instance a]\nurl = h\n[model m]\nkeep_alive = 5 minutes\n", "t.conf:4: keep_alive:" },
	{ "[instance a]\nurl = h\n[model m]\nkeep_alive = 5x\n", "t.conf:4: keep_alive: unknown unit" },
	{ "[instance a]\nurl = h\n[model m]\ngroups = gpu\n", "t.conf:4: groups: no instance is in group 'gpu'" },
	{ "[instance a]\nurl = h\n[model]\n", "t.conf:3: section [model] needs a name" },
	{ "[instance]\nurl = h\n", "t.conf:1: section [instance] needs a name" },
	{ "[instance a]\n", "t.conf:1: [instance a] has no url" },
	{ "url = h\n", "t.conf:1: key 'url' outside any section" },
	{ "[instance a]\nurl = h\nthis is not ini\n", "t.conf:3: syntax error" },
	{ "[instance a]\nurl = h\n[slo]\nttft_p97 = 1s\n", "t.conf:4: unknown key 'ttft_p97' in [slo]" },
	{ "[instance a]\nurl = h\n[slo]\nttft_p95 = fast\n", "t.conf:4: ttft_p95:" },
	{ "[instance a]\nurl = h\n[slo]\nttft_p50 = 1s\n", "t.conf:4: unknown key 'ttft_p50' in [slo] (expected ttft_p95, ttft_p99, itl_p99" },
	{ "[instance a]\nurl = h\n[slo]\nerror_rate = 2\n", "t.conf:4: error_rate: '2' is not from 0 to 1" },
	{ "[instance a]\nurl = h\n[slo]\ne2e_p99 = 1s\ne2e_p99 = 2s\n", "t.conf:5: duplicate key 'e2e_p99' in [slo] (first at line 4)" },
	{ "[instance a]\nurl = h\n[cost]\ninstance_hour = cheap\n", "t.conf:4: instance_hour: 'cheap' is not a price" },
	{ "[instance a]\nurl = h\n[cost]\ninstance_hour = -1\n", "t.conf:4: instance_hour: '-1' is not a price" },
	{ "[instance a]\nurl = h\n[cost]\nper_token = 1\n", "t.conf:4: unknown key 'per_token' in [cost]" },
	{ "[instance a]\nurl = h\n[cost]\ninstance_hour.gpu = 1\n", "t.conf:4: instance_hour.gpu: no instance is in group 'gpu'" },
	{ "[instance a]\nurl = h\ninstance_hour = x\n", "t.conf:3: instance_hour: 'x' is not a price" },
	{ "[instance a]\nurl = h\nbackup = maybe\n", "t.conf:3: backup: expected true or false" },
	{ "[instance a]\nurl = h\n[route]\nlong_group = gpu\n", "long_group 'gpu' names no instance's group" },
	{ "[instance a]\nurl = h\n[fleet x]\n", "t.conf:3: section [fleet] takes no name" },
	{ "[instance a b]\nurl = h\n", "t.conf:1: invalid instance name 'a b'" },
	{ "[instance a]\nurl = h\n[model m]\nnum_ctx = -5\n", "t.conf:4: num_ctx" },
	{ "[instance a]\nurl = h\n[model m]\n[model M:latest]\n", "t.conf:4: duplicate model 'm:latest'" },
	{ "[instance a\nurl = h\n", "t.conf:1: section header without ']'" },
	{ "[instance a]\nurl = h\nnum_parallel = 0\n", "t.conf:3: num_parallel: '0' is not a whole number from 1 to 4096" },
	{ "[instance a]\nurl = h\nmax_loaded = many\n", "t.conf:3: max_loaded:" },
	{ "[instance a]\nurl = h\ngpus = 0,,1\n", "t.conf:3: gpus: expected GPU indexes" },
	{ "[instance a]\nurl = h\ngpus = 0;1\n", "t.conf:3: gpus:" },
	{ "[fleet]\nshared_store = nfs\n[instance a]\nurl = h\n", "t.conf:2: shared_store: expected true or false" },
	{ "[instance a]\nurl = h\n[model m]\ndigest = sha256:abc\n", "t.conf:4: digest: expected sha256: and 64 hex digits" },
	{ "[instance a]\nurl = h\n[model m]\ndigest = md5:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", "t.conf:4: digest:" },
};

/* Keys deploy and emit read: slots, GPUs, a shared store, pinned digests. */
static void test_deploy_keys(void **state)
{
	(void)state;
	static const char *const text =
		"[fleet]\nshared_store = yes\nnum_parallel = 4\n"
		"[instance a]\nurl = h\nmax_loaded = 2\ngpus = 0,1\n"
		"[instance b]\nurl = g\nnum_parallel = 8\n"
		"[model m]\ndigest = sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n";
	struct fleet f;
	char err[ERR_MAX] = "";
	assert_int_equal(fleet_parse_string(&f, text, "t.conf", err), 0);
	assert_int_equal(f.shared_store, 1);
	assert_int_equal(f.instances[0].num_parallel, 4);
	assert_int_equal(f.instances[0].max_loaded, 2);
	assert_string_equal(f.instances[0].gpus, "0,1");
	assert_int_equal(f.instances[1].num_parallel, 8);
	assert_int_equal(f.instances[1].max_loaded, 0);
	assert_null(f.instances[1].gpus);
	assert_string_equal(f.models[0].digest, "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	char *json = fleet_to_json(&f);
	assert_non_null(strstr(json, "\"shared_store\":true"));
	assert_non_null(strstr(json, "\"num_parallel\":8,\"max_loaded\":null,\"gpus\":null"));
	assert_non_null(strstr(json, "\"digest\":\"sha256:abcdef"));
	free(json);
	fleet_release(&f);
}

/* [k8s]: defaults, values, and min/max checked against each other. */
static void test_k8s(void **state)
{
	(void)state;
	struct fleet f;
	char err[ERR_MAX] = "";
	assert_int_equal(fleet_parse_string(&f, "[instance a]\nurl = h\n", "t.conf", err), 0);
	assert_int_equal(f.k8s.min_replicas, 2);
	assert_int_equal(f.k8s.max_replicas, 10);
	assert_int_equal(f.k8s.cpu_target, 70);
	assert_int_equal(f.k8s.gpus, 0);
	assert_string_equal(f.k8s.namespace, "default");
	assert_string_equal(f.k8s.storage, "50Gi");
	fleet_release(&f);
	assert_int_equal(fleet_parse_string(&f,
					    "[instance a]\nurl = h\n[k8s]\nmin_replicas = 3\n"
					    "max_replicas = 6\ncpu_target = 55%\ngpus = 1\n"
					    "namespace = llm\nstorage = 200Gi\n", "t.conf", err), 0);
	assert_int_equal(f.k8s.min_replicas, 3);
	assert_int_equal(f.k8s.max_replicas, 6);
	assert_int_equal(f.k8s.cpu_target, 55);
	assert_int_equal(f.k8s.gpus, 1);
	assert_string_equal(f.k8s.namespace, "llm");
	assert_string_equal(f.k8s.storage, "200Gi");
	char *json = fleet_to_json(&f);
	assert_non_null(strstr(json, "\"k8s\":{\"min_replicas\":3,\"max_replicas\":6,"
				     "\"cpu_target\":55,\"gpus\":1,\"namespace\":\"llm\","
				     "\"storage\":\"200Gi\"}"));
	free(json);
	fleet_release(&f);
	/* one bound given: the default of the other gives way */
	assert_int_equal(fleet_parse_string(&f, "[instance a]\nurl = h\n[k8s]\nmax_replicas = 1\n",
					    "t.conf", err), 0);
	assert_int_equal(f.k8s.min_replicas, 1);
	fleet_release(&f);
	assert_int_equal(fleet_parse_string(&f, "[instance a]\nurl = h\n[k8s]\nmin_replicas = 20\n",
					    "t.conf", err), 0);
	assert_int_equal(f.k8s.max_replicas, 20);
	fleet_release(&f);
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "[k8s]\nmin_replicas = 0\n", "t.conf:4: min_replicas: '0' is not a whole number" },
		{ "[k8s]\ncpu_target = 101%\n", "t.conf:4: cpu_target: '101%' is not a percentage" },
		{ "[k8s]\ncpu_target = %\n", "t.conf:4: cpu_target:" },
		{ "[k8s]\ngpus = -1\n", "t.conf:4: gpus:" },
		{ "[k8s]\nnamespace = Prod\n", "t.conf:4: namespace: 'Prod' is not a Kubernetes namespace" },
		{ "[k8s]\nstorage = 50GB\n", "t.conf:4: storage: '50GB' is not a size" },
		{ "[k8s]\nreplicas = 3\n", "t.conf:4: unknown key 'replicas' in [k8s]" },
		{ "[k8s x]\n", "t.conf:3: section [k8s] takes no name" },
		{ "[k8s]\nmin_replicas = 5\nmax_replicas = 4\n", "t.conf:3: [k8s] min_replicas 5 is above max_replicas 4" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[256];
		snprintf(text, sizeof(text), "[instance a]\nurl = h\n%s", bad[i].text);
		if (fleet_parse_string(&f, text, "t.conf", err) != -1 || !strstr(err, bad[i].want)) {
			print_error("case %zu: got '%s', want '%s'\n", i, err, bad[i].want);
			fail();
		}
	}
}

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fleet f;
		char err[ERR_MAX] = "";
		int r = fleet_parse_string(&f, bad[i].text, "t.conf", err);
		if (r != -1 || !strstr(err, bad[i].want)) {
			print_error("case %zu: got %d '%s', want '%s'\n", i, r, err, bad[i].want);
			fail();
		}
		assert_int_equal(f.ninstances, 0); /* released */
	}
}

static void test_long_line(void **state)
{
	(void)state;
	char text[1024];
	char pad[400];
	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(text, sizeof(text), "[instance a]\nurl = h\n; %s\n", pad);
	struct fleet f;
	char err[ERR_MAX] = "";
	assert_int_equal(fleet_parse_string(&f, text, "t.conf", err), -1);
	assert_non_null(strstr(err, "t.conf:3: line too long"));
}

static void test_missing_file(void **state)
{
	(void)state;
	struct fleet f;
	char err[ERR_MAX] = "";
	assert_int_equal(fleet_load(&f, "/nonexistent/fleet.conf", err), -1);
	assert_non_null(strstr(err, "cannot read fleet file '/nonexistent/fleet.conf'"));
}

static void test_host_url(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "localhost", "http://localhost:11434" },
		{ "10.0.0.1:8080", "http://10.0.0.1:8080" },
		{ "http://example.com", "http://example.com:80" },
		{ "https://example.com", "https://example.com:443" },
		{ "https://example.com:8443/ollama/", "https://example.com:8443/ollama" },
		{ "0.0.0.0", "http://0.0.0.0:11434" },
		{ "[::1]:9000", "http://[::1]:9000" },
		{ "[::1]", "http://[::1]:11434" },
		{ " host ", "http://host:11434" },
		{ "HTTP://h:1", "http://h:1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[256], err[ERR_MAX];
		assert_int_equal(fleet_host_url(cases[i].in, out, sizeof(out), err), 0);
		assert_string_equal(out, cases[i].out);
	}
	static const char *const badh[] = { "", "ftp://h", "h:0", "h:abc", "http://:80",
					    "h o st", "[::1" };
	for (size_t i = 0; i < ARRAY_SIZE(badh); i++) {
		char out[256], err[ERR_MAX];
		assert_int_equal(fleet_host_url(badh[i], out, sizeof(out), err), -1);
	}
}

static void test_resolve(void **state)
{
	(void)state;
	struct fleet f;
	char err[ERR_MAX];
	char dir[] = "/tmp/t-fleet.XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	unsetenv("OBRIDGE_FLEET");
	unsetenv("OLLAMA_HOST");
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);

	/* nothing at all: 127.0.0.1:11434 */
	assert_int_equal(fleet_resolve(&f, NULL, NULL, 0, err), 0);
	assert_int_equal(f.ninstances, 1);
	assert_string_equal(f.instances[0].url, "http://127.0.0.1:11434");
	fleet_release(&f);

	/* $OLLAMA_HOST as the ollama CLI reads it */
	setenv("OLLAMA_HOST", "http://gpu-box", 1);
	assert_int_equal(fleet_resolve(&f, NULL, NULL, 0, err), 0);
	assert_string_equal(f.instances[0].url, "http://gpu-box:80");
	assert_string_equal(f.source, "$OLLAMA_HOST");
	fleet_release(&f);

	/* the XDG config file beats $OLLAMA_HOST */
	char path[4200];
	snprintf(path, sizeof(path), "%s/obridge", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/obridge/obridge.conf", dir);
	FILE *fp = fopen(path, "w");
	fputs("[instance xdg]\nurl = h1\n", fp);
	fclose(fp);
	assert_int_equal(fleet_resolve(&f, NULL, NULL, 0, err), 0);
	assert_string_equal(f.instances[0].name, "xdg");
	fleet_release(&f);

	/* ./obridge.conf beats XDG */
	fp = fopen("obridge.conf", "w");
	fputs("[instance cwd]\nurl = h2\n", fp);
	fclose(fp);
	assert_int_equal(fleet_resolve(&f, NULL, NULL, 0, err), 0);
	assert_string_equal(f.instances[0].name, "cwd");
	fleet_release(&f);

	/* $OBRIDGE_FLEET beats ./obridge.conf, -f beats it */
	setenv("OBRIDGE_FLEET", path, 1);
	assert_int_equal(fleet_resolve(&f, NULL, NULL, 0, err), 0);
	assert_string_equal(f.instances[0].name, "xdg");
	fleet_release(&f);
	assert_int_equal(fleet_resolve(&f, "obridge.conf", NULL, 0, err), 0);
	assert_string_equal(f.instances[0].name, "cwd");
	fleet_release(&f);

	/* -H beats everything; duplicates collapse */
	const char *hosts[] = { "a:1", "http://a:1", "b" };
	assert_int_equal(fleet_resolve(&f, "obridge.conf", hosts, 3, err), 0);
	assert_int_equal(f.ninstances, 2);
	assert_string_equal(f.instances[0].name, "a:1");
	assert_string_equal(f.instances[1].url, "http://b:11434");
	fleet_release(&f);

	const char *badh[] = { "ftp://x" };
	assert_int_equal(fleet_resolve(&f, NULL, badh, 1, err), -1);
	assert_non_null(strstr(err, "-H 'ftp://x'"));

	unlink("obridge.conf");
	unlink(path);
	snprintf(path, sizeof(path), "%s/obridge", dir);
	rmdir(path);
	assert_int_equal(chdir(cwd), 0);
	rmdir(dir);
}

/* Found by make fuzz: api_key_file freed ca_file (a leak, and a use after free). */
static void test_fuzz_regressions(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct fleet f;
	static const char ok[] = "[fleet]\nca_file = /a.pem\napi_key_file = /k\n"
				 "api_key_scope = all\n\n[instance a]\nurl = http://h\n";
	assert_int_equal(fleet_parse(&f, ok, sizeof(ok) - 1, "t.conf", err), 0);
	assert_string_equal(f.ca_file, "/a.pem");
	assert_string_equal(f.api_key_file, "/k");
	assert_true(f.api_key_all);
	fleet_release(&f);
	static const char bad[] = "[fleet]\nca_file = prod\napi_key_scope = name = prod\n";
	assert_int_equal(fleet_parse(&f, bad, sizeof(bad) - 1, "t.conf", err), -1);
	assert_non_null(strstr(err, "t.conf:3: api_key_scope"));
	static const char dup[] = "[fleet]\nca_file = a\nca_file = b\n";
	assert_int_equal(fleet_parse(&f, dup, sizeof(dup) - 1, "t.conf", err), -1);
	assert_non_null(strstr(err, "t.conf:3: duplicate key 'ca_file' in [fleet] (first at line 2)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),    cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_deploy_keys),  cmocka_unit_test(test_k8s),
		cmocka_unit_test(test_long_line),    cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_host_url),     cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_fuzz_regressions),
	};
	return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
