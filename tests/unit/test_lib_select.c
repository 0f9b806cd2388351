// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of libwwatch's backend selection: every combination of
 * request (auto, native, module, from the environment or not) and probe
 * result (userfaultfd usable, native handshake, module state) gives the
 * documented backend or errno and a message that says what to do.  The
 * probe results are injected; no system call is made.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "internal.h"

static struct ww_probe probe(int uffd, int native, int module)
{
	struct ww_probe p = {
		.uffd_err = uffd, .native_err = native, .module_err = module,
		.native_probed = true, .module_probed = true,
		.kernel = "6.1.0-56-amd64",
	};

	p.version.size = sizeof(p.version);
	p.version.abi_major = module == -EPROTO ? WWATCH_ABI_MAJOR + 1 :
			      WWATCH_ABI_MAJOR;
	p.version.abi_minor = 3;
	p.version.features = WWATCH_FEAT_ASYNC_WP | WWATCH_FEAT_SCAN;
	strcpy(p.version.module_version, "0.1.0");
	return p;
}

static int sel(enum wwatch_backend want, bool env, struct ww_probe p,
	       enum wwatch_backend *out, char *msg)
{
	struct ww_request r = { .backend = want, .from_env = env };

	*out = (enum wwatch_backend)-1;
	return ww_select(&r, &p, out, msg, 512);
}

static void test_parse(void **state)
{
	enum wwatch_backend b;

	(void)state;
	assert_int_equal(ww_parse_backend(NULL, &b), 0);
	assert_int_equal(b, WWATCH_BACKEND_AUTO);
	assert_int_equal(ww_parse_backend("", &b), 0);
	assert_int_equal(b, WWATCH_BACKEND_AUTO);
	assert_int_equal(ww_parse_backend("auto", &b), 0);
	assert_int_equal(b, WWATCH_BACKEND_AUTO);
	assert_int_equal(ww_parse_backend("native", &b), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	assert_int_equal(ww_parse_backend("module", &b), 0);
	assert_int_equal(b, WWATCH_BACKEND_MODULE);
	assert_int_equal(ww_parse_backend("Module", &b), -EINVAL);
	assert_int_equal(ww_parse_backend("kernel", &b), -EINVAL);
	assert_int_equal(ww_parse_backend("native ", &b), -EINVAL);
}

static void test_auto(void **state)
{
	enum wwatch_backend b;
	char msg[512];

	(void)state;
	/* 6.7+: native wins even with the module loaded. */
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(0, 0, 0), &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	assert_non_null(strstr(msg, "native"));
	/* 6.1 with the module. */
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(0, -EINVAL, 0), &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_MODULE);
	assert_non_null(strstr(msg, "6.7"));
	assert_non_null(strstr(msg, "0.1.0"));
	/* 6.1 without the module: says what to install and load. */
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(0, -EINVAL, -ENOENT), &b, msg),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "modprobe wwatch"));
	assert_non_null(strstr(msg, "dkms"));
	assert_non_null(strstr(msg, "6.7"));
	/* 6.1 with a module of another ABI. */
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(0, -EINVAL, -EPROTO), &b, msg),
			 -EPROTO);
	assert_non_null(strstr(msg, "ABI 2.3"));
	assert_non_null(strstr(msg, "matching versions"));
	/* 6.1, module lacks the engine. */
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(0, -EINVAL, -EOPNOTSUPP), &b, msg),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "update"));
	/* /dev/wwatch not accessible. */
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(0, -EINVAL, -EACCES), &b, msg),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "0666"));
}

static void test_forced(void **state)
{
	enum wwatch_backend b;
	char msg[512];

	(void)state;
	assert_int_equal(sel(WWATCH_BACKEND_MODULE, true, probe(0, 0, 0), &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_MODULE);
	assert_non_null(strstr(msg, "WWATCH_BACKEND"));
	assert_int_equal(sel(WWATCH_BACKEND_MODULE, false, probe(0, 0, -ENOENT), &b, msg),
			 -ENOENT);
	assert_non_null(strstr(msg, "not loaded"));
	assert_null(strstr(msg, "WWATCH_BACKEND)"));
	assert_int_equal(sel(WWATCH_BACKEND_MODULE, true, probe(0, 0, -EPROTO), &b, msg),
			 -EPROTO);
	assert_int_equal(sel(WWATCH_BACKEND_NATIVE, true, probe(0, 0, -ENOENT), &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	/* Native requested on 6.1: refused even though the module works. */
	assert_int_equal(sel(WWATCH_BACKEND_NATIVE, true, probe(0, -EINVAL, 0), &b, msg),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "lacks UFFD_FEATURE_WP_ASYNC"));
	assert_non_null(strstr(msg, "WWATCH_BACKEND"));
	assert_int_equal(sel((enum wwatch_backend)7, false, probe(0, 0, 0), &b, msg), -EINVAL);
}

static void test_no_uffd(void **state)
{
	enum wwatch_backend b;
	char msg[512];

	(void)state;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(-EPERM, -EPERM, 0), &b, msg),
			 -EPERM);
	assert_non_null(strstr(msg, "seccomp"));
	assert_int_equal(sel(WWATCH_BACKEND_MODULE, false, probe(-ENOSYS, -ENOSYS, 0), &b, msg),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "CONFIG_USERFAULTFD"));
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, probe(-EMFILE, -EMFILE, 0), &b, msg),
			 -EMFILE);
}

/* Native present but inexact: the module if it is there, else native. */
static void test_inexact_native(void **state)
{
	struct ww_probe p = probe(0, 0, 0);
	enum wwatch_backend b;
	char msg[512];

	(void)state;
	p.native_inexact = true;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_MODULE);
	assert_non_null(strstr(msg, "inexact"));
	assert_non_null(strstr(msg, "exact"));
	p.module_err = -ENOENT;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	assert_non_null(strstr(msg, "would be exact"));
	assert_non_null(strstr(msg, "modprobe"));
	/* Asked for by name: given, with the warning. */
	assert_int_equal(sel(WWATCH_BACKEND_NATIVE, true, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	assert_non_null(strstr(msg, "inexact"));
}

/*
 * 6.1 with wwatch.ko's kernel ABI: the handshake works, so native is
 * chosen, and the reason names the module as what serves it; with the
 * switch off the module backend is chosen and the reason says why.
 */
static void test_kernel_abi(void **state)
{
	struct ww_probe p = probe(0, 0, 0);
	enum wwatch_backend b;
	char msg[512];

	(void)state;
	p.kernel_abi = WWATCH_KERNEL_ABI_ON;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	assert_non_null(strstr(msg, "native: served by wwatch.ko's kernel ABI (kernel_abi=Y)"));
	assert_int_equal(sel(WWATCH_BACKEND_NATIVE, false, p, &b, msg), 0);
	assert_non_null(strstr(msg, "wwatch.ko"));
	assert_int_equal(sel(WWATCH_BACKEND_MODULE, true, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_MODULE);
	/* Switched off: 6.1 refuses the handshake again. */
	p.kernel_abi = WWATCH_KERNEL_ABI_OFF;
	p.native_err = -EINVAL;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_MODULE);
	assert_non_null(strstr(msg, "kernel_abi=N"));
	/* On a kernel with the feature the switch reads N: not mentioned. */
	p.native_err = 0;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	assert_null(strstr(msg, "kernel_abi"));
	assert_non_null(strstr(msg, "has UFFD_FEATURE_WP_ASYNC"));
}

/* A probe that did not look at the module (native worked) is fine. */
static void test_unprobed_module(void **state)
{
	struct ww_probe p = probe(0, 0, 0);
	enum wwatch_backend b;
	char msg[512];

	(void)state;
	p.module_probed = false;
	p.module_err = 0;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), 0);
	assert_int_equal(b, WWATCH_BACKEND_NATIVE);
	p.native_err = -EINVAL;
	assert_int_equal(sel(WWATCH_BACKEND_AUTO, false, p, &b, msg), -EOPNOTSUPP);
	assert_int_equal(sel(WWATCH_BACKEND_MODULE, false, p, &b, msg), -EOPNOTSUPP);
}

static void test_version_check(void **state)
{
	struct wwatch_version v = { .size = sizeof(v), .abi_major = WWATCH_ABI_MAJOR,
				    .features = WWATCH_FEAT_ASYNC_WP | WWATCH_FEAT_SCAN };

	(void)state;
	assert_int_equal(ww_module_version_check(&v), 0);
	v.abi_minor = 99;	/* newer minor: only additions */
	assert_int_equal(ww_module_version_check(&v), 0);
	v.abi_major++;
	assert_int_equal(ww_module_version_check(&v), -EPROTO);
	v.abi_major--;
	v.features = WWATCH_FEAT_ASYNC_WP;
	assert_int_equal(ww_module_version_check(&v), -EOPNOTSUPP);
}

/* Messages are always terminated, even in a tiny buffer. */
static void test_small_buffer(void **state)
{
	struct ww_request r = { .backend = WWATCH_BACKEND_AUTO };
	struct ww_probe p = probe(0, -EINVAL, -ENOENT);
	enum wwatch_backend b;
	char msg[8];

	(void)state;
	memset(msg, 'x', sizeof(msg));
	assert_int_equal(ww_select(&r, &p, &b, msg, sizeof(msg)), -EOPNOTSUPP);
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	assert_int_equal(ww_select(&r, &p, &b, NULL, 0), -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_no_uffd),
		cmocka_unit_test(test_inexact_native),
		cmocka_unit_test(test_kernel_abi),
		cmocka_unit_test(test_unprobed_module),
		cmocka_unit_test(test_version_check),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests_name("lib_select", tests, NULL, NULL);
}
