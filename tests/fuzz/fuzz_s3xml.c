/*
 * fuzz_s3xml.c: libFuzzer target for the S3 XML readers (src/s3/xml.c), the
 * part of the client that parses what a remote, possibly hostile, endpoint
 * sends: listing pages (appended across pages, as a real listing does),
 * error documents and single-value lookups. Checks that what comes out is
 * consistent (sizes non-negative, keys are C strings, caps respected).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    es_s3_object_list list = {0};
    es_s3_list_page page;
    es_error err;
    /* twice into one list: the second page appends, or leaves the list as it was */
    for (int round = 0; round < 2; round++) {
        size_t before = list.count;
        es_status rc = es_s3_xml_parse_list(xml, size, &list, 64, &page, &err);
        if (rc != ES_OK) {
            if (list.count != before)
                abort();
            continue;
        }
        if (list.count > 64 || list.count != before + page.added)
            abort();
        if (page.is_truncated && (!page.next_token || !*page.next_token))
            abort();
        es_s3_list_page_clear(&page);
    }
    for (size_t i = 0; i < list.count; i++) {
        if (!list.items[i].key || list.items[i].size < 0 ||
            strlen(list.items[i].key) > ES_S3_XML_MAX_TEXT ||
            strlen(list.items[i].etag) >= sizeof list.items[i].etag)
            abort();
    }
    es_s3_object_list_free(&list);

    char code[64], msg[256];
    if (es_s3_xml_parse_error(xml, size, code, sizeof code, msg, sizeof msg)) {
        if (strlen(code) >= sizeof code || strlen(msg) >= sizeof msg)
            abort();
    }
    char id[128];
    if (es_s3_xml_find(xml, size, "UploadId", id, sizeof id, &err) == ES_OK &&
        strlen(id) >= sizeof id)
        abort();
    return 0;
}
