package app

import "github.com/urfave/cli/v2"

// commands lists keysync's top-level commands, in the order --help shows them.
func commands(env Env) []*cli.Command {
	return []*cli.Command{
		syncCommand(env),
		registryCommand(env),
		runsCommand(env),
		findingsCommand(env),
		changesCommand(env),
		explainCommand(env),
		tuneCommand(env),
		auditCommand(env),
		kpiCommand(env),
		reportCommand(env),
		sqlCommand(env),
		dbCommand(env),
		pruneCommand(env),
		scheduleCommand(env),
		cronCommand(env),
		genCommand(env),
		suppressCommand(env),
		versionCommand(env),
		completionCommand(env),
		manCommand(env),
	}
}
