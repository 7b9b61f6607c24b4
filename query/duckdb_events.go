package query

// personJoin joins a subquery of events (aliased e) to the persons of its
// distinct ids, so that personID() resolves over it.
func (duckDialect) personJoin(c *compiler, src string) string {
	return src + " LEFT JOIN (SELECT distinct_id, person_id FROM person_distinct_ids WHERE project_id = " + c.p(c.proj) +
		") pd ON pd.distinct_id = e.distinct_id"
}
