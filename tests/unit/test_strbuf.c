/* strbuf: growth and the JSON string writer, which must emit valid JSON for any bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/strbuf.h"

static char *json(const char *s, size_t max)
{
    strbuf_t sb = STRBUF_INIT;
    strbuf_append_json_string_max(&sb, s, max);
    return strbuf_steal(&sb, NULL);
}

static void check(const char *in, const char *want)
{
    char *got = json(in, (size_t)-1);
    assert_string_equal(got, want);
    free(got);
}

static void test_escapes(void **state)
{
    (void)state;
    check("", "\"\"");
    check("plain", "\"plain\"");
    check("a\"b\\c", "\"a\\\"b\\\\c\"");
    check("tab\there\nnl\x01", "\"tab\\u0009here\\u000anl\\u0001\"");
}

static void test_utf8_kept_and_invalid_replaced(void **state)
{
    (void)state;
    /* valid 2, 3 and 4 byte sequences pass through */
    check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92",
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92\"");
    /* a lone continuation byte, a truncated sequence, an overlong NUL, a surrogate, a code
     * point above U+10FFFF and 0xff: each bad byte becomes U+FFFD */
    check("a\x80z", "\"a\\ufffdz\"");
    check("a\xe2\x82", "\"a\\ufffd\\ufffd\"");
    check("\xc0\x80", "\"\\ufffd\\ufffd\"");
    check("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    check("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    check("\xff", "\"\\ufffd\"");
}

static void test_max_cuts_with_ellipsis(void **state)
{
    (void)state;
    char *got = json("abcdef", 3);
    assert_string_equal(got, "\"abc\\u2026\"");
    free(got);
    got = json("abc", 3);
    assert_string_equal(got, "\"abc\"");
    free(got);
    /* a sequence that starts before the cut is kept whole */
    got = json("ab\xc3\xa9z", 3);
    assert_string_equal(got, "\"ab\xc3\xa9\\u2026\"");
    free(got);
}

static void test_growth(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    for (int i = 0; i < 10000; i++)
        strbuf_appendf(&sb, "%d,", i);
    assert_int_equal(sb.len, strlen(sb.data));
    assert_memory_equal(sb.data, "0,1,2,", 6);
    strbuf_dispose(&sb);
    assert_null(sb.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8_kept_and_invalid_replaced),
        cmocka_unit_test(test_max_cuts_with_ellipsis),
        cmocka_unit_test(test_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
