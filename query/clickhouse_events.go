package query

// personJoin joins a subquery of events (aliased e) to the latest person of
// each mapped distinct id; USING keeps to the one-join form 18.16 reads.
func (chDialect) personJoin(c *compiler, src string) string {
	return src + " ANY LEFT JOIN (" + chPersonMap(c.p(c.proj)) + ") AS pd USING (distinct_id)"
}
