#!/bin/sh
# sm-push killed with -9 at 100 random moments (t/8000-sm-push.t does 8
# in the fast tier), then a last push: the target table equals sm's rows.
cd "$(dirname "$0")"
PUSH_KILLS=${PUSH_KILLS:-100} exec ./8000-sm-push.t
