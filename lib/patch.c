/* See LICENSE file for copyright and license details. */
#include "sm.h"
#include "sm-private.h"

jv
sm_merge_patch(jv target, jv patch)
{
	if (jv_get_kind(patch) != JV_KIND_OBJECT) {
		jv_free(target);
		return patch;
	}
	if (jv_get_kind(target) != JV_KIND_OBJECT) {
		jv_free(target);
		target = jv_object();
	}
	jv_object_foreach(patch, key, value) {
		if (jv_get_kind(value) == JV_KIND_NULL) {
			jv_free(value);
			target = jv_object_delete(target, key);
		} else {
			jv old = jv_object_get(jv_copy(target), jv_copy(key));

			if (!jv_is_valid(old)) {
				jv_free(old);
				old = jv_null();
			}
			target = jv_object_set(target, key,
			    sm_merge_patch(old, value));
		}
	}
	jv_free(patch);
	return target;
}
