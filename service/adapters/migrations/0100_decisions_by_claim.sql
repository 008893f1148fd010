-- A task's decisions are all of its claim's, so they are found through decisions_claim (a claim has a few dozen
-- decisions) with the task id as a filter: the reads by task (the workbench's decisions view, a letter's facts) say
-- the claim too. The index on task_id went: keyed by a uuid5, it took a random leaf page for each of the ~five
-- decisions an event writes, one of the indexes that missed shared_buffers most over a long backlog (40,000-68,000
-- blocks read over 200,000 events; docs/performance.md, "Long backlogs").
DROP INDEX IF EXISTS decisions_task;
