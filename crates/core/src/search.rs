//! What the public search finds: the kinds of published object the index holds, each named as
//! the results page labels it.

/// A kind of indexed public object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A published subsidy roster (惠农资金).
    Roster,
    /// A catalogue item of the micro-power list (小微权力).
    Power,
    /// A published exercise record of a power item (权力运行).
    PowerRecord,
    /// A published disclosure (公示公开).
    Disclosure,
    /// A service catalogue item (我要办事).
    Service,
}

impl DocumentKind {
    pub const ALL: [Self; 5] = [Self::Roster, Self::Power, Self::PowerRecord, Self::Disclosure, Self::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Roster => "roster",
            Self::Power => "power",
            Self::PowerRecord => "power_record",
            Self::Disclosure => "disclosure",
            Self::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The section a result belongs to, as the results page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Roster => "惠农资金",
            Self::Power => "小微权力",
            Self::PowerRecord => "权力运行",
            Self::Disclosure => "公示公开",
            Self::Service => "我要办事",
        }
    }
}

crate::stored_code!(DocumentKind);
