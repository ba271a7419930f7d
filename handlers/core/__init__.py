"""What every command family shares, written once: the Interaction and its one factory (`interaction`), the
listeners every family registers through (`listeners`), Slack I/O (`slack_io`), the grammar and its bounds
(`parsing`, `when`, `addresses`), Block Kit helpers and the Mrkdwn escaping type (`blocks`), a card's life
(`cards`), once-only requests (`once`), who people are (`people`), the workspace wall (`workspaces`) and how
scheduled work is retried (`retries`)."""
