/* See LICENSE file for copyright and license details. */
#include <stdio.h>

#include "sm.h"
#include "sm-private.h"

struct printer {
	struct sm_buf b;
	int with_data;
	FILE *f;
};

static int
print_event(const struct sm_event *ev, void *arg)
{
	struct printer *p = arg;

	sm_jw_begin(&p->b);
	sm_jw_str(&p->b, "op", ev->op);
	if (ev->source != NULL)
		sm_jw_str(&p->b, "source", ev->source);
	if (ev->target != NULL)
		sm_jw_str(&p->b, "target", ev->target);
	sm_jw_str(&p->b, "external_id", ev->external_id);
	sm_jw_str(&p->b, "hash", ev->hash);
	if (ev->prev_hash != NULL)
		sm_jw_str(&p->b, "prev_hash", ev->prev_hash);
	if (ev->warning != NULL)
		sm_jw_str(&p->b, "warning", ev->warning);
	if (p->with_data)
		sm_jw_raw(&p->b, "data", ev->data);
	sm_jw_end(&p->b);
	return sm_jw_put(&p->b, p->f);
}

int
sm_events_print(struct sm_db *db, const struct sm_run *run, int with_data,
    FILE *f)
{
	struct printer p;
	int rc;

	sm_buf_init(&p.b);
	p.with_data = with_data;
	p.f = f;
	rc = sm_change_each_event(db, run, print_event, &p);
	sm_buf_free(&p.b);
	return rc;
}
