#!/bin/sh -e
# sm-tenant: every verb, its output, its failures and exit codes.
cd "$(dirname "$0")"
. ./lib.sh
plan 64

check_exit 'init creates the data dir' 0 sm-tenant init
check 'data dir is 0700' test "$(stat -c %a data)" = 700
check_exit 'init is idempotent' 0 sm-tenant init

check_exit 'create prints the tenant' 0 sm-tenant create "My Company"
check 'create output names slug and name' \
    grep_q '^{"id":"my-company","name":"My Company","api_key":"sm_my-company_' out
check 'key shown with a warning to save it' grep_q 'save its API key' err
key=$(sed 's/.*"api_key":"\([^"]*\)".*/\1/' out)
check 'key carries 256 bits (43 base64url chars)' \
    test "$(printf %s "$key" | sed 's/^sm_my-company_//' | tr -d '\n' | wc -c)" = 43
check 'tenant file is 0600' test "$(stat -c %a data/my-company.db)" = 600
check 'the key itself is not stored' sh -c "! grep -q '$key' data/my-company.db*"
check_exit 'second create of the same slug fails' 73 sm-tenant create "My Company"
check 'and says why' grep_q "tenant 'my-company' exists already" err
check_exit 'create with --slug' 0 sm-tenant create "Acme Homes" --slug acme
check 'slug used' grep_q '"id":"acme"' out
check_exit 'bad --slug is a usage error' 64 sm-tenant create X --slug ../etc
check 'names the slug' grep_q "invalid tenant slug '../etc'" err
check_exit 'upper-case slug refused' 64 sm-tenant create X --slug ACME
check_exit 'name without slug characters' 64 sm-tenant create '!!!'
check 'no stray file from failed creates' \
    test "$(ls data | sort | tr '\n' ' ')" = "acme.db my-company.db "

check_exit 'list' 0 sm-tenant list
check 'list has both, sorted' \
    test "$(sed 's/^{"id":"\([^"]*\)".*/\1/' out | tr '\n' ' ')" = "acme my-company "
check 'list records canonical form and hash algorithm' \
    grep_q '"canonical_version":1,"hash_algorithm":"xxh3-128"' out

check_exit 'show by operand' 0 sm-tenant show acme
check 'show output' grep_q '^{"id":"acme","name":"Acme Homes",' out
check_exit 'show by -T after the verb' 0 sm-tenant show -T acme
check 'show by -T' grep_q '"id":"acme"' out
check_exit 'show by SM_TENANT' 0 env SM_TENANT=acme sm-tenant show
check_exit 'show without tenant is usage' 64 sm-tenant show
check_exit 'show of a missing tenant' 66 sm-tenant show nosuch
check 'says no tenant' grep_q "no tenant 'nosuch'" err

check_exit 'rotate-key' 0 sm-tenant rotate-key my-company
newkey=$(sed 's/.*"api_key":"\([^"]*\)".*/\1/' out)
check 'rotated key differs' test "$newkey" != "$key"
check 'rotate warns' grep_q 'old key no longer works' err

check_exit 'source add' 0 sm-tenant -T acme source add portal --type scraped \
    --map '{external_id: .ref} + .' --id-field ref --hash-ignore scraped_at,seen
check 'source add output' grep_q \
    '^{"id":1,"name":"portal","type":"scraped","config":{},"map":"{external_id: .ref} + .","id_field":"ref","hash_ignore":\["scraped_at","seen"\],"properties":0,' out
check_exit 'source add duplicate name' 73 sm-tenant -T acme source add portal --type json
check "says it exists" grep_q "source 'portal' exists already" err
check_exit 'source add bad type' 64 sm-tenant -T acme source add x --type ftp
check 'lists the types' grep_q 'expected one of json, scraped, manual, api' err
check_exit 'source add without type' 64 sm-tenant -T acme source add x
check_exit 'source add bad map' 78 sm-tenant -T acme source add x --type json --map '{'
check_exit 'source add bad config' 64 sm-tenant -T acme source add x --type json --config '[1]'
printf '{"a": 1, "b": [1, 2]}' >cfg.json
echo 'select(.price > 0)' >map.jq
check_exit 'source add with @files' 0 sm-tenant -T acme source add feed --type json \
    --config @cfg.json --map @map.jq
check 'config canonical, map from file' grep_q '"config":{"a":1,"b":\[1,2\]},"map":"select(.price > 0)\\n"' out
check_exit 'source list' 0 sm-tenant -T acme source list
check 'two sources in id order' test "$(cut -c1-20 out | tr '\n' ' ')" = '{"id":1,"name":"port {"id":2,"name":"feed '
check_exit 'source show by id' 0 sm-tenant -T acme source show 2
check 'shows feed' grep_q '"name":"feed"' out
check_exit 'source set renames and clears the map' 0 \
    sm-tenant -T acme source set feed --name api-feed --map ''
check 'set output' grep_q '"name":"api-feed","type":"json","config":{"a":1,"b":\[1,2\]},"map":null' out
check_exit 'source show missing' 66 sm-tenant -T acme source show feed
check_exit 'source rm without --yes' 64 sm-tenant -T acme source rm api-feed
check_exit 'source rm --yes' 0 sm-tenant -T acme source rm api-feed --yes
check 'rm output' grep_q '"name":"api-feed","deleted":true' out

check_exit 'target add' 0 sm-tenant -T acme target add website --type website \
    --config '{"url":"https://example.com"}'
check 'target output' grep_q '^{"id":1,"name":"website","type":"website","config":{"url":"https://example.com"},"properties":0,"manual_changes":0,' out
check_exit 'target add with --map is usage' 64 sm-tenant -T acme target add db --type database --map .
check_exit 'target list' 0 sm-tenant -T acme target list
check 'one target' test "$(wc -l <out)" = 1

check_exit 'check a clean tenant' 0 sm-tenant check acme
check 'check prints nothing when clean' test ! -s out
check_exit 'check all tenants' 0 sm-tenant check

check_exit 'delete without --yes' 64 sm-tenant delete my-company
check_exit 'delete --yes' 0 sm-tenant delete my-company --yes
check 'file gone' test ! -e data/my-company.db
done_testing
