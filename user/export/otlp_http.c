// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "base/clock.h"
#include "export/encode.h"
#include "export/options.h"
#include "base/log.h"
#include "export/otlp_http.h"
#include "base/version.h"

struct otlp_http {
	CURL *curl;
	struct curl_slist *hdrs;
	char *endpoint;
	bool gzip;
	uint32_t max_retry_ms;
	long retry_after_s; /* from the last response, -1 when absent */
};

static int add_header(void *ctx, const char *k, const char *v)
{
	struct otlp_http *h = ctx;
	struct curl_slist *l;
	char *line;

	if (asprintf(&line, "%s: %s", k, v) < 0)
		return -ENOMEM;
	l = curl_slist_append(h->hdrs, line);
	free(line);
	if (!l)
		return -ENOMEM;
	h->hdrs = l;
	return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ctx)
{
	struct otlp_http *h = ctx;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(buf, "Retry-After:", 12)) {
		char *end;
		long v = strtol(buf + 12, &end, 10);

		/* seconds only; an HTTP-date falls back to our own backoff */
		if (end != buf + 12 && v >= 0)
			h->retry_after_s = v;
	}
	return len;
}

static size_t discard_body(char *buf, size_t size, size_t n, void *ctx)
{
	(void)buf;
	(void)ctx;
	return size * n;
}

struct otlp_http *otlp_http__new(const struct exporter_opts *o)
{
	struct otlp_http *h = calloc(1, sizeof(*h));
	int err = -ENOMEM;

	if (!h)
		goto fail;
	h->gzip = o->gzip;
	h->max_retry_ms = o->max_retry_ms;
	h->endpoint = strdup(o->endpoint ? o->endpoint : "");
	h->curl = curl_easy_init();
	h->hdrs = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
	if (!h->endpoint || !h->curl || !h->hdrs)
		goto fail;
	if (o->gzip && !(h->hdrs = curl_slist_append(h->hdrs, "Content-Encoding: gzip")))
		goto fail;
	if (o->headers && kv_list_parse(o->headers, add_header, h)) {
		pr_err("OTEL_EXPORTER_OTLP_HEADERS is not a list of key=value pairs: '%s'",
		       o->headers);
		err = -EINVAL;
		goto fail;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, h->endpoint);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, (const char *)zt_user_agent);
	return h;
fail:
	otlp_http__free(h);
	errno = -err;
	return NULL;
}

void otlp_http__free(struct otlp_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdrs);
	free(h->endpoint);
	free(h);
}

static bool retryable(CURLcode rc, long status)
{
	if (rc != CURLE_OK)
		return true; /* connection refused, timeout, reset: the backend may come back */
	return status == 429 || status == 502 || status == 503 || status == 504;
}

int otlp_http__post(struct otlp_http *h, const uint8_t *body, size_t len, int n,
		    const struct otlp_http_retry *r)
{
	uint8_t *gz = NULL;
	size_t gzlen = 0;
	uint64_t start = now_ms(), delay = 500;
	int err = 0;

	if (h->gzip) {
		err = gzip_compress(body, len, &gz, &gzlen);
		if (err)
			return err;
	}
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, gz ? gz : body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)(gz ? gzlen : len));
	for (;;) {
		long status = 0;
		CURLcode rc;
		uint64_t wait;

		h->retry_after_s = -1;
		rc = curl_easy_perform(h->curl);
		if (rc == CURLE_OK)
			curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_OK && status >= 200 && status < 300) {
			err = 0;
			break;
		}
		__atomic_add_fetch(r->errors, 1, __ATOMIC_RELAXED);
		if (!retryable(rc, status) || now_ms() - start >= h->max_retry_ms) {
			pr_warn("export of %d spans to %s failed: %s", n, h->endpoint,
				rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error status");
			if (rc == CURLE_OK)
				pr_warn("backend answered HTTP %ld", status);
			err = -EIO;
			break;
		}
		wait = h->retry_after_s >= 0 ? (uint64_t)h->retry_after_s * 1000 : delay;
		pr_debug("export failed (%s, HTTP %ld), retrying in %llu ms",
			 rc != CURLE_OK ? curl_easy_strerror(rc) : "ok", status,
			 (unsigned long long)wait);
		__atomic_add_fetch(r->retries, 1, __ATOMIC_RELAXED);
		if (!r->wait(r->ctx, wait)) {
			err = -ETIMEDOUT;
			break;
		}
		delay = delay * 2 > 5000 ? 5000 : delay * 2;
	}
	free(gz);
	return err;
}
