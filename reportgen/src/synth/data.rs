//! The demo data's content: the site's pages and referrers, the suggestion chips, the questions
//! the knowledge base answers by topic, small talk, and the knowledge gaps with their other
//! wordings. How often each is drawn is `synth.rs`'s business.

#[derive(Clone, Copy)]
pub(super) struct Page {
    pub(super) url: &'static str,
    pub(super) title: &'static str,
}

/// The post that gets shared, and where most of that day's extra visitors land.
pub(super) const SHARED_POST: Page = Page {
    url: "https://example.dev/blog/rust-workers",
    title: "Running Rust on Cloudflare Workers | Example Dev",
};

pub(super) const PAGES: [(Page, u32); 7] = [
    (
        Page {
            url: "https://example.dev/",
            title: "Example Dev | Software engineer, Rust and AI",
        },
        30,
    ),
    (
        Page {
            url: "https://example.dev/about",
            title: "About | Example Dev",
        },
        18,
    ),
    (
        Page {
            url: "https://example.dev/projects",
            title: "Projects | Example Dev",
        },
        16,
    ),
    (SHARED_POST, 11),
    (
        Page {
            url: "https://example.dev/blog/rag-on-a-budget",
            title: "RAG on a Budget | Example Dev",
        },
        8,
    ),
    (
        Page {
            url: "https://example.dev/cv",
            title: "CV | Example Dev",
        },
        9,
    ),
    (
        Page {
            url: "https://example.dev/contact",
            title: "Contact | Example Dev",
        },
        8,
    ),
];

pub(super) const SHARED_REFERRER: &str = "https://news.ycombinator.com/";

/// Referrers; `None` is direct traffic (typed URL, bookmark, or a referrer policy).
pub(super) const REFERRERS: [(Option<&str>, u32); 9] = [
    (None, 35),
    (Some("https://www.google.com/"), 20),
    (Some("https://google.com/search"), 6),
    (Some("https://www.linkedin.com/"), 10),
    (Some("https://github.com/"), 9),
    (Some("https://www.bing.com/"), 5),
    (Some(SHARED_REFERRER), 5),
    (Some("https://duckduckgo.com/"), 5),
    (Some("https://t.co/"), 5),
];

#[derive(Clone, Copy)]
pub(super) struct Suggestion {
    pub(super) question: &'static str,
    pub(super) topic: &'static str,
}

/// The chips the widget offers under the greeting.
pub(super) const SUGGESTIONS: [(Suggestion, u32); 5] = [
    (
        Suggestion {
            question: "What are your main skills?",
            topic: "skills",
        },
        30,
    ),
    (
        Suggestion {
            question: "Tell me about your recent projects",
            topic: "projects",
        },
        25,
    ),
    (
        Suggestion {
            question: "What's your experience with AI?",
            topic: "ai",
        },
        20,
    ),
    (
        Suggestion {
            question: "Are you available for new work?",
            topic: "availability",
        },
        15,
    ),
    (
        Suggestion {
            question: "How can I get in touch?",
            topic: "contact",
        },
        10,
    ),
];

pub(super) struct Topic {
    pub(super) name: &'static str,
    pub(super) questions: &'static [&'static str],
}

/// Questions the knowledge base answers, by the topic retrieval assigns.
pub(super) const TOPICS: [(Topic, u32); 7] = [
    (
        Topic {
            name: "skills",
            questions: &[
                "What programming languages do you use?",
                "What's your experience with Rust?",
                "Do you know TypeScript?",
                "What is your tech stack?",
                "What frontend frameworks have you used?",
                "Do you do backend development?",
                "What databases have you worked with?",
                "Are you familiar with Cloudflare Workers?",
            ],
        },
        26,
    ),
    (
        Topic {
            name: "projects",
            questions: &[
                "What projects have you built?",
                "Tell me about the Rust workers project",
                "Is this chatbot open source?",
                "What is your favourite project?",
                "Where can I see your code?",
                "How did you build this site?",
            ],
        },
        20,
    ),
    (
        Topic {
            name: "experience",
            questions: &[
                "Where have you worked before?",
                "How many years of experience do you have?",
                "What was your role at your last company?",
                "Have you led a team?",
                "Tell me about your work history",
                "Have you worked at a startup?",
            ],
        },
        17,
    ),
    (
        Topic {
            name: "ai",
            questions: &[
                "Have you built RAG systems?",
                "How does this chatbot work?",
                "Which LLMs have you worked with?",
                "Do you fine-tune models?",
                "What is retrieval-augmented generation?",
                "How do you evaluate LLM answers?",
            ],
        },
        14,
    ),
    (
        Topic {
            name: "availability",
            questions: &[
                "Are you available for freelance work?",
                "Are you open to new roles?",
                "Can you work remotely?",
                "When could you start?",
                "Do you take contract work?",
            ],
        },
        10,
    ),
    (
        Topic {
            name: "contact",
            questions: &[
                "How can I contact you?",
                "What's the best way to reach you?",
                "Are you on LinkedIn?",
                "Can we schedule a call?",
            ],
        },
        8,
    ),
    (
        Topic {
            name: "education",
            questions: &[
                "Where did you study?",
                "Do you have a computer science degree?",
                "What certifications do you have?",
                "What did you study at university?",
            ],
        },
        5,
    ),
];

/// Greetings and chit-chat: answered, but retrieval assigns no topic.
pub(super) const SMALL_TALK: [&str; 6] = [
    "Hi",
    "Hello!",
    "Thanks!",
    "Who are you?",
    "Is this a real person?",
    "Can you speak other languages?",
];

/// Gaps asked only in the last [`super::TRENDING_DAYS`]: a new subject the knowledge base lacks.
pub(super) const TRENDING_GAPS: [&str; 3] = [
    "Have you built an MCP server?",
    "Have you ever built an MCP server?",
    "Can you build MCP servers?",
];

/// Other wordings of some [`GAPS`]: near duplicates (shared words) that normalisation alone
/// does not fold together, so that the report's gap clusters have something to group.
pub(super) const GAP_REWORDINGS: [(&str, &str); 14] = [
    (
        "Do you have experience with Kubernetes?",
        "Do you have Kubernetes experience?",
    ),
    (
        "Do you have experience with Kubernetes?",
        "Have you got experience with Kubernetes?",
    ),
    (
        "Do you have experience with Kubernetes?",
        "kubernetes experience?",
    ),
    (
        "What is your salary expectation?",
        "What are your salary expectations?",
    ),
    (
        "What is your salary expectation?",
        "What salary expectation do you have?",
    ),
    (
        "Are you willing to relocate?",
        "Would you be willing to relocate?",
    ),
    ("Have you worked with Go?", "Have you ever worked with Go?"),
    (
        "What is your notice period?",
        "How long is your notice period?",
    ),
    ("Do you speak German?", "Do you speak any German?"),
    ("Have you used LangChain?", "Have you ever used LangChain?"),
    ("What timezone are you in?", "Which timezone are you in?"),
    (
        "Do you have experience with Terraform?",
        "Do you have Terraform experience?",
    ),
    (
        "Have you worked with Java?",
        "Have you worked with Java before?",
    ),
    ("Can you sign an NDA?", "Would you sign an NDA?"),
];

/// Questions the knowledge base cannot answer, most asked first (they are drawn Zipf-like),
/// with the topic retrieval still guesses for some.
pub(super) const GAPS: [(&str, Option<&str>); 40] = [
    ("Do you have experience with Kubernetes?", Some("skills")),
    ("What is your salary expectation?", Some("availability")),
    ("Are you willing to relocate?", Some("availability")),
    ("Have you worked with Go?", Some("skills")),
    ("What is your notice period?", Some("availability")),
    ("Do you speak German?", None),
    ("Have you used LangChain?", Some("ai")),
    ("What timezone are you in?", Some("contact")),
    ("Do you have experience with Terraform?", Some("skills")),
    ("Do you do mobile development?", Some("skills")),
    ("Have you worked with Java?", Some("skills")),
    ("Do you have a portfolio PDF?", Some("projects")),
    ("Can you sign an NDA?", Some("availability")),
    ("What hobbies do you have?", None),
    ("Do you have references?", Some("experience")),
    ("Have you used AWS Lambda?", Some("skills")),
    ("Have you worked in fintech?", Some("experience")),
    ("Do you have any publications?", Some("education")),
    ("What's your opinion on Copilot?", Some("ai")),
    ("Can you mentor me?", None),
    ("Do you have experience with Flutter?", Some("skills")),
    ("What was your thesis about?", Some("education")),
    ("Do you offer training workshops?", Some("availability")),
    ("Have you trained a model from scratch?", Some("ai")),
    ("Do you work weekends?", Some("availability")),
    ("Which IDE do you use?", Some("skills")),
    ("Have you worked with Salesforce?", Some("skills")),
    ("Do you know SAP?", Some("skills")),
    ("Do you speak at conferences?", Some("experience")),
    ("Can you build a Shopify store?", Some("skills")),
    ("Are you on Mastodon?", Some("contact")),
    ("Do you have a newsletter?", None),
    ("Can you help with my WordPress site?", None),
    (
        "Have you contributed to the Linux kernel?",
        Some("projects"),
    ),
    ("What's your favourite book?", None),
    (
        "Do you have experience with embedded systems?",
        Some("skills"),
    ),
    ("Have you worked with Elixir?", Some("skills")),
    (
        "What are your rates for a one-day workshop?",
        Some("availability"),
    ),
    ("Do you use Vim or Emacs?", None),
    (
        "Have you worked on healthcare software?",
        Some("experience"),
    ),
];
