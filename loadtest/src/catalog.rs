//! Realistic tools and user prompts for the world: tools grouped by domain,
//! each domain with prompts a user would send when they need those tools.
//! With the semantic check on, a session's exchanges ask only for tools of its
//! prompt's domain, so a denial is a real finding, not noise of the generator.

pub struct Domain {
    pub tools: &'static [(&'static str, &'static str)],
    pub prompts: &'static [&'static str],
}

pub const DOMAINS: &[Domain] = &[
    Domain {
        tools: &[
            ("filesystem:read", "Read the contents of a file from the user's workspace"),
            ("filesystem:list", "List the files and folders in a directory of the workspace"),
            ("filesystem:write", "Create or overwrite a file in the user's workspace"),
        ],
        prompts: &[
            "Summarise the meeting notes in /docs/notes.md and list the action items",
            "Read the README in my project folder and tell me how to build it",
            "Find the configuration files in the repo and fix the typo in the database port",
        ],
    },
    Domain {
        tools: &[
            ("web:search", "Search the public web and return the top results with snippets"),
            ("web:fetch", "Download a web page and return its readable text"),
        ],
        prompts: &[
            "Search the web for recent reviews of electric cargo bikes and compare the top three",
            "Find the latest news about the Rust 2024 edition and summarise it",
            "Look up the opening hours of the city library online",
        ],
    },
    Domain {
        tools: &[
            ("calendar:list_events", "List the events in the user's calendar for a date range"),
            ("calendar:create_event", "Create a calendar event with a title, time and attendees"),
        ],
        prompts: &[
            "Schedule a one-hour meeting with Ana next Tuesday afternoon",
            "What is on my calendar tomorrow, and do I have time for lunch?",
            "Book a recurring weekly sync with the design team on Thursdays",
        ],
    },
    Domain {
        tools: &[
            ("email:search", "Search the user's mailbox for messages matching a query"),
            ("email:send", "Send an email message on the user's behalf"),
            ("email:draft", "Write a draft email and save it without sending"),
        ],
        prompts: &[
            "Reply to the last email from the landlord and confirm the repair appointment",
            "Find the invoice my accountant emailed me last month",
            "Draft an email to the team announcing the release date",
        ],
    },
    Domain {
        tools: &[
            ("db:query", "Run a read-only SQL query against the analytics database"),
            ("db:describe", "Describe the tables and columns of the analytics database"),
        ],
        prompts: &[
            "How many orders did we ship per region last quarter? Query the sales database",
            "Show me the top ten customers by revenue this year from the database",
            "Which columns does the orders table have, and how are refunds recorded?",
        ],
    },
    Domain {
        tools: &[
            ("code:run_tests", "Run the project's test suite and report failures"),
            ("code:lint", "Run the linter on the source code and list the warnings"),
            ("git:diff", "Show the uncommitted changes in the git repository"),
        ],
        prompts: &[
            "Run the tests of my project and explain why the parser test fails",
            "Check the code for lint warnings before I open the pull request",
            "What did I change since the last commit? Show me the diff",
        ],
    },
    Domain {
        tools: &[
            ("weather:forecast", "Get the weather forecast for a city for the next days"),
            ("maps:directions", "Compute directions and travel time between two places"),
        ],
        prompts: &[
            "Will it rain in Lisbon this weekend? I want to plan a hike",
            "How long does it take to drive from the office to the airport at 5pm?",
            "What's the forecast for Berlin tomorrow morning?",
        ],
    },
    Domain {
        tools: &[
            ("payments:refund", "Refund a customer's payment, fully or partially"),
            ("payments:lookup", "Look up a payment and its status by order number"),
        ],
        prompts: &[
            "The customer on order 4411 was charged twice; refund the duplicate payment",
            "Has the payment for order 9120 gone through?",
            "Check the status of yesterday's failed card payments",
        ],
    },
];

/// The `i`-th tool of the catalogue, cycling with a numeric suffix once the
/// catalogue is used up: `(name, description, domain)`.
pub fn tool(i: usize) -> (String, String, usize) {
    let all: Vec<(usize, &(&str, &str))> =
        DOMAINS.iter().enumerate().flat_map(|(d, dom)| dom.tools.iter().map(move |t| (d, t))).collect();
    let (domain, (name, description)) = all[i % all.len()];
    let round = i / all.len();
    if round == 0 {
        (name.to_string(), description.to_string(), domain)
    } else {
        (format!("{name}_{round}"), format!("{description} (replica {round})"), domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..200).map(|i| tool(i).0).collect();
        assert_eq!(names.len(), 200);
    }
}
