package main

import "github.com/bulkdl/bulkdl/job"

// shardFlag is -shard K/N (job.Shard says which files it takes).
type shardFlag struct{ job.Shard }

func (s *shardFlag) Set(v string) (err error) {
	s.Shard, err = job.ParseShard(v)
	return err
}
