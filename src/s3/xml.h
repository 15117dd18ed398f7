/*
 * xml.h: the few S3 XML documents we read (ListObjectsV2 pages, errors,
 * multipart replies), parsed with expat under hard caps: a document, a text
 * node and a listing page are bounded, entity declarations are refused (no
 * DTD tricks from a hostile endpoint), element nesting is limited.
 */
#ifndef ES_S3_XML_H
#define ES_S3_XML_H

#include "ecosight/s3.h"

#define ES_S3_XML_MAX_DOC (16u << 20)  /* a 1000-key listing is ~300 KB */
#define ES_S3_XML_MAX_TEXT 4096        /* keys are at most 1024 bytes */
#define ES_S3_XML_MAX_DEPTH 16

typedef struct es_s3_list_page {
    int is_truncated;
    char *next_token; /* NextContinuationToken, malloc'd or NULL */
    size_t added;     /* objects appended to the list by this page */
} es_s3_list_page;

/* Append the <Contents> of one ListObjectsV2 page to *list (at most
 * max_total objects in the list overall, else ES_ERR_TOO_LARGE). */
es_status es_s3_xml_parse_list(const char *xml, size_t len, es_s3_object_list *list,
                               size_t max_total, es_s3_list_page *page, es_error *err);
void es_s3_list_page_clear(es_s3_list_page *page);

/* S3's <Error><Code>..</Code><Message>..</Message></Error>. Returns 1 when
 * the document is an Error (code/message filled, maybe empty), 0 otherwise. */
int es_s3_xml_parse_error(const char *xml, size_t len, char *code, size_t code_size,
                          char *message, size_t message_size);

/* Text of the first element named `name` (any depth); ES_ERR_NOT_FOUND when absent,
 * ES_ERR_FORMAT when the document is malformed. */
es_status es_s3_xml_find(const char *xml, size_t len, const char *name, char *out,
                         size_t out_size, es_error *err);

/* Escape &, <, >, ", ' for element text; appends to b. */
es_status es_s3_xml_escape(es_buf *b, const char *s, es_error *err);

#endif
