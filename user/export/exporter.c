// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/clock.h"
#include "export/console.h"
#include "export/encode.h"
#include "export/exporter.h"
#include "export/otlp_http.h"
#include "base/version.h"
#include "base/log.h"
#include "trace/span.h"

/* An encoded batch waiting for the exporter thread. */
struct ready_batch {
	struct otlp_batch *b;
	struct ready_batch *next;
};

struct exporter {
	struct exporter_opts o;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct span *head, *tail;		     /* spans, for the console and OTLP files */
	struct ready_batch *ready_head, *ready_tail; /* OTLP/HTTP batches, encoded */
	uint32_t depth;				     /* spans in both lists */
	/*
	 * OTLP/HTTP: the batch the submitting thread encodes into. A span is ~1.8 KB written by
	 * the reader; handing it to this thread cost more than building it (its cache lines
	 * moved to this CPU, and back when the reader reused it). Encoded, it is ~300 bytes
	 * read once, in order.
	 */
	pthread_mutex_t build_mu;
	bool encode_on_submit;
	uint32_t build_limit; /* batch_size, for the submitting thread */
	struct otlp_batch *building;
	uint64_t building_since_ms;
	bool stopping;
	uint64_t deadline_ms; /* when stopping: give up on the backend after this */
	struct exporter_stats stats;
	struct otlp_http *http;
	FILE *file;
	struct console *console;
	char host_name[256];
	struct exporter_opts pending; /* from exporter__reconfigure, applied by the thread */
	bool has_pending;
};

static void opts_free(struct exporter_opts *o)
{
	free((char *)o->endpoint);
	free((char *)o->headers);
	free((char *)o->file_path);
	free((char *)o->resource_attrs);
	memset(o, 0, sizeof(*o));
}

/* A copy that owns its strings, with defaults filled in. */
static int opts_copy(struct exporter_opts *dst, const struct exporter_opts *src)
{
	*dst = *src;
	dst->endpoint = src->endpoint ? strdup(src->endpoint) : NULL;
	dst->headers = src->headers ? strdup(src->headers) : NULL;
	dst->file_path = src->file_path ? strdup(src->file_path) : NULL;
	dst->resource_attrs = src->resource_attrs ? strdup(src->resource_attrs) : NULL;
	if ((src->endpoint && !dst->endpoint) || (src->headers && !dst->headers) ||
	    (src->file_path && !dst->file_path) || (src->resource_attrs && !dst->resource_attrs)) {
		opts_free(dst);
		return -ENOMEM;
	}
	if (!dst->queue_size)
		dst->queue_size = 8192;
	if (!dst->batch_size)
		dst->batch_size = 512;
	if (!dst->batch_delay_ms)
		dst->batch_delay_ms = 1000;
	if (!dst->timeout_ms)
		dst->timeout_ms = 10000;
	if (!dst->max_retry_ms)
		dst->max_retry_ms = 60000;
	if (!dst->console_quiet_ms)
		dst->console_quiet_ms = 500;
	return 0;
}

/* Where spans go, per e->o. */
static int backend_open(struct exporter *e)
{
	int err = 0;

	switch (e->o.kind) {
	case EXPORTER_OTLP_HTTP:
		e->http = otlp_http__new(&e->o);
		if (!e->http)
			err = -errno;
		break;
	case EXPORTER_OTLP_FILE:
		e->file = fopen(e->o.file_path, "a");
		if (!e->file) {
			err = -errno;
			pr_err("cannot open --otlp-file %s: %s", e->o.file_path, strerror(errno));
		}
		break;
	case EXPORTER_CONSOLE:
		e->console = console__new(e->o.console_out ? e->o.console_out : stdout,
					  e->o.console_quiet_ms, 1024);
		if (!e->console)
			err = -ENOMEM;
		break;
	}
	return err;
}

static void backend_close(struct exporter *e)
{
	otlp_http__free(e->http);
	e->http = NULL;
	if (e->file)
		fclose(e->file);
	e->file = NULL;
	if (e->console)
		console__flush(e->console, true, 0);
	console__free(e->console);
	e->console = NULL;
}

/* Whether submitted spans are encoded at once, per the backend in e->o. */
static void set_encoding(struct exporter *e)
{
	pthread_mutex_lock(&e->build_mu);
	e->encode_on_submit = e->o.kind == EXPORTER_OTLP_HTTP;
	e->build_limit = e->o.batch_size;
	pthread_mutex_unlock(&e->build_mu);
}

struct exporter *exporter__new(const struct exporter_opts *opts)
{
	struct exporter *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return NULL;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	pthread_mutex_init(&e->build_mu, NULL);
	if (gethostname(e->host_name, sizeof(e->host_name) - 1))
		strcpy(e->host_name, "localhost");
	err = opts_copy(&e->o, opts);
	if (!err)
		err = backend_open(e);
	if (err) {
		exporter__free(e);
		errno = -err;
		return NULL;
	}
	set_encoding(e);
	return e;
}

int exporter__reconfigure(struct exporter *e, const struct exporter_opts *opts)
{
	struct exporter_opts copy;
	int err = opts_copy(&copy, opts);

	if (err)
		return err;
	pthread_mutex_lock(&e->mu);
	if (e->has_pending)
		opts_free(&e->pending);
	e->pending = copy;
	e->has_pending = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

static void drain_encoded(struct exporter *e);

/* On the exporter thread, between batches: switch to the pending settings, or, when they do
 * not work (a file that cannot be opened), stay with the current ones. */
static void apply_pending(struct exporter *e)
{
	struct exporter_opts next, prev;

	pthread_mutex_lock(&e->mu);
	if (!e->has_pending) {
		pthread_mutex_unlock(&e->mu);
		return;
	}
	next = e->pending;
	e->has_pending = false;
	pthread_mutex_unlock(&e->mu);
	/* what was encoded for OTLP/HTTP goes there before the backend changes kind */
	if (e->o.kind == EXPORTER_OTLP_HTTP && next.kind != EXPORTER_OTLP_HTTP)
		drain_encoded(e);
	backend_close(e);
	/* under the lock: exporter__submit reads queue_size on another thread */
	pthread_mutex_lock(&e->mu);
	prev = e->o;
	e->o = next;
	pthread_mutex_unlock(&e->mu);
	if (backend_open(e)) {
		pr_err("reload: the new exporter settings do not work; keeping the previous ones");
		backend_close(e);
		pthread_mutex_lock(&e->mu);
		next = e->o;
		e->o = prev;
		pthread_mutex_unlock(&e->mu);
		opts_free(&next);
		backend_open(e);
		set_encoding(e);
		return;
	}
	opts_free(&prev);
	set_encoding(e);
	pr_info("reload: exporter settings applied");
}

/* A full encoded batch joins the queue, or, when the queue has no room for it, is dropped. */
static void enqueue_encoded(struct exporter *e, struct otlp_batch *b)
{
	uint32_t n = otlp_batch__spans(b);
	struct ready_batch *r = malloc(sizeof(*r));

	pthread_mutex_lock(&e->mu);
	if (!r || e->depth + n > e->o.queue_size) {
		e->stats.dropped_queue_full += n;
		pthread_mutex_unlock(&e->mu);
		free(r);
		otlp_batch__free(b);
		return;
	}
	r->b = b;
	r->next = NULL;
	if (e->ready_tail)
		e->ready_tail->next = r;
	else
		e->ready_head = r;
	e->ready_tail = r;
	e->depth += n;
	e->stats.queued += n;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* The batch being built, when it is due (or whatever it holds, when `all`). */
static struct otlp_batch *take_building(struct exporter *e, bool all)
{
	struct otlp_batch *b = NULL;

	pthread_mutex_lock(&e->build_mu);
	if (e->building && (all || now_ms() - e->building_since_ms >= e->o.batch_delay_ms)) {
		b = e->building;
		e->building = NULL;
	}
	pthread_mutex_unlock(&e->build_mu);
	if (b && !otlp_batch__spans(b)) {
		otlp_batch__free(b);
		b = NULL;
	}
	return b;
}

/* Called with build_mu held; releases it. */
static void submit_encoded(struct exporter *e, struct span *s)
{
	struct otlp_batch *full = NULL;
	int err = 0;

	if (!e->building) {
		e->building = otlp_batch__new();
		e->building_since_ms = now_ms();
	}
	err = e->building ? otlp_batch__add(e->building, s) : -ENOMEM;
	if (!err && otlp_batch__spans(e->building) >= e->build_limit) {
		full = e->building;
		e->building = NULL;
	}
	pthread_mutex_unlock(&e->build_mu);
	span__free(s);
	if (err) {
		pthread_mutex_lock(&e->mu);
		e->stats.dropped_queue_full++;
		pthread_mutex_unlock(&e->mu);
	}
	if (full)
		enqueue_encoded(e, full);
}

void exporter__submit(struct exporter *e, struct span *s)
{
	pthread_mutex_lock(&e->build_mu);
	if (e->encode_on_submit) {
		submit_encoded(e, s);
		return;
	}
	pthread_mutex_unlock(&e->build_mu);
	pthread_mutex_lock(&e->mu);
	if (e->depth >= e->o.queue_size) {
		e->stats.dropped_queue_full++;
		pthread_mutex_unlock(&e->mu);
		span__free(s);
		return;
	}
	s->next = NULL;
	if (e->tail)
		e->tail->next = s;
	else
		e->head = s;
	e->tail = s;
	e->depth++;
	e->stats.queued++;
	if (e->depth >= e->o.batch_size)
		pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* Sleep ms, but wake early when told to stop. Returns false if the stop deadline passed. */
static bool backoff_wait(void *ctx, uint64_t ms)
{
	struct exporter *e = ctx;
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&e->mu);
	if (!e->stopping)
		pthread_cond_timedwait(&e->cv, &e->mu, &until);
	ok = !e->stopping || now_ms() < e->deadline_ms;
	pthread_mutex_unlock(&e->mu);
	return ok;
}

/* POST one ExportTraceServiceRequest of n spans, retrying what may succeed later. */
static int post_body(struct exporter *e, const uint8_t *body, size_t len, int n)
{
	const struct otlp_http_retry retry = {
	    .wait = backoff_wait,
	    .ctx = e,
	    .errors = &e->stats.export_errors,
	    .retries = &e->stats.retries,
	};

	return otlp_http__post(e->http, body, len, n, &retry);
}

static int post_batch(struct exporter *e, struct span **spans, int n)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int err = otlp_pb_encode(spans, n, e->o.resource_attrs, e->host_name, &body, &len);

	if (!err)
		err = post_body(e, body, len, n);
	free(body);
	return err;
}

static void count_export(struct exporter *e, int err, uint32_t n)
{
	pthread_mutex_lock(&e->mu);
	if (err)
		e->stats.dropped_export_failed += n;
	else
		e->stats.exported += n;
	pthread_mutex_unlock(&e->mu);
}

/* An encoded batch: only the resources are left to write. */
static void export_encoded(struct exporter *e, struct otlp_batch *b)
{
	uint32_t n = otlp_batch__spans(b);
	uint8_t *body = NULL;
	size_t len = 0;
	int err = otlp_batch__finish(b, e->o.resource_attrs, e->host_name, &body, &len);

	if (!err)
		err = post_body(e, body, len, n);
	free(body);
	otlp_batch__free(b);
	count_export(e, err, n);
}

static void export_batch(struct exporter *e, struct span **spans, int n)
{
	int err = 0;

	switch (e->o.kind) {
	case EXPORTER_OTLP_HTTP: err = post_batch(e, spans, n); break;
	case EXPORTER_OTLP_FILE:
		err = otlp_json_write(spans, n, e->o.resource_attrs, e->host_name, e->file);
		if (!err && fflush(e->file))
			err = -errno;
		break;
	case EXPORTER_CONSOLE:
		for (int i = 0; i < n; i++)
			console__add(e->console, spans[i], now_ms());
		__atomic_add_fetch(&e->stats.exported, n, __ATOMIC_RELAXED);
		return; /* the console owns them now */
	}
	count_export(e, err, n);
	for (int i = 0; i < n; i++)
		span__free(spans[i]);
}

static struct otlp_batch *pop_ready(struct exporter *e)
{
	struct ready_batch *r;
	struct otlp_batch *b = NULL;

	pthread_mutex_lock(&e->mu);
	r = e->ready_head;
	if (r) {
		e->ready_head = r->next;
		if (!e->ready_head)
			e->ready_tail = NULL;
		b = r->b;
		e->depth -= otlp_batch__spans(b);
	}
	pthread_mutex_unlock(&e->mu);
	free(r);
	return b;
}

/* Export the batch being built if it is due (everything in it, when `all`). */
static bool export_building(struct exporter *e, bool all)
{
	struct otlp_batch *b = take_building(e, all);

	if (!b)
		return false;
	pthread_mutex_lock(&e->mu);
	e->stats.queued += otlp_batch__spans(b);
	pthread_mutex_unlock(&e->mu);
	export_encoded(e, b);
	return true;
}

static void drain_encoded(struct exporter *e)
{
	struct otlp_batch *b;

	pthread_mutex_lock(&e->build_mu);
	e->encode_on_submit = false;
	pthread_mutex_unlock(&e->build_mu);
	export_building(e, true);
	while ((b = pop_ready(e)))
		export_encoded(e, b);
}

static void *run(void *arg)
{
	struct exporter *e = arg;
	uint32_t batch_cap = e->o.batch_size;
	struct span **batch = calloc(batch_cap, sizeof(*batch));
	uint64_t batch_start = now_ms();

	if (!batch)
		return NULL;
	for (;;) {
		struct otlp_batch *encoded;
		struct timespec until;
		bool stopping, stop;
		int n = 0;

		apply_pending(e);
		if (e->o.batch_size > batch_cap) {
			struct span **nb = realloc(batch, e->o.batch_size * sizeof(*batch));

			if (nb) {
				batch = nb;
				batch_cap = e->o.batch_size;
			}
		}

		pthread_mutex_lock(&e->mu);
		/* console prints are driven by quiet time, so wake up often enough for them */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (!e->stopping && !e->ready_head && e->depth < e->o.batch_size)
			pthread_cond_timedwait(&e->cv, &e->mu, &until);
		stopping = e->stopping;
		pthread_mutex_unlock(&e->mu);

		encoded = pop_ready(e);
		if (encoded) {
			export_encoded(e, encoded);
			continue;
		}
		/* a batch still being built goes out after batch_delay_ms, or at once on stop */
		if (export_building(e, stopping))
			continue;

		pthread_mutex_lock(&e->mu);
		if (e->head && (e->depth >= e->o.batch_size || e->stopping ||
				now_ms() - batch_start >= e->o.batch_delay_ms)) {
			while (e->head && n < (int)e->o.batch_size && n < (int)batch_cap) {
				batch[n++] = e->head;
				e->head = e->head->next;
				e->depth--;
			}
			if (!e->head)
				e->tail = NULL;
			batch_start = now_ms();
		}
		if (!e->head)
			batch_start = now_ms();
		stop = stopping && !e->head && !e->ready_head;
		pthread_mutex_unlock(&e->mu);
		if (n)
			export_batch(e, batch, n);
		if (e->console)
			console__flush(e->console, stop, now_ms());
		if (stop)
			break;
	}
	free(batch);
	return NULL;
}

int exporter__start(struct exporter *e)
{
	int err = pthread_create(&e->thread, NULL, run, e);

	if (err)
		return -err;
	e->started = true;
	return 0;
}

void exporter__stop(struct exporter *e, uint32_t deadline_ms)
{
	if (!e || !e->started)
		return;
	pthread_mutex_lock(&e->mu);
	e->stopping = true;
	e->deadline_ms = now_ms() + deadline_ms;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->thread, NULL);
	e->started = false;
}

void exporter__free(struct exporter *e)
{
	if (!e)
		return;
	exporter__stop(e, 0);
	while (e->head) {
		struct span *s = e->head;

		e->head = s->next;
		span__free(s);
	}
	while (e->ready_head)
		otlp_batch__free(pop_ready(e));
	otlp_batch__free(e->building);
	backend_close(e);
	opts_free(&e->o);
	if (e->has_pending)
		opts_free(&e->pending);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->build_mu);
	free(e);
}

void exporter__stats(struct exporter *e, struct exporter_stats *out)
{
	pthread_mutex_lock(&e->mu);
	*out = e->stats;
	pthread_mutex_unlock(&e->mu);
}

uint32_t exporter__queue_depth(struct exporter *e)
{
	uint32_t d;

	pthread_mutex_lock(&e->mu);
	d = e->depth;
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&e->build_mu);
	d += otlp_batch__spans(e->building);
	pthread_mutex_unlock(&e->build_mu);
	return d;
}
