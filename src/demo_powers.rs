//! Demo 小微权力 data: a county catalogue of 36 items in the spirit of the national 村务管理
//! standard (public powers and convenience services, each with its procedure and risk points), one
//! local item of 卓园村, and published exercise records in 广至藏族乡 — one with a late step, one
//! with a skipped step. Every item carries its 责任清单 (one duty per step, the item's
//! responsible person first) and 追责清单 (the breaches of its category, then one per risk point,
//! each with its measure and basis). Items and records are looked up by name first, so a second
//! `xiaowei demo` adds nothing; an item from an older demo without lists gets them as version 2.

use anyhow::{Context, Result};
use xiaowei_core::power::{self, PowerCategory, ProcedureStep, RiskPoint};
use xiaowei_core::power_lists::{Accountability, Duty};
use xiaowei_server::AppState;
use xiaowei_store::{NewPowerExercise, NewPowerItem, NewPowerStepRecord, Store};

const COUNTY: &str = "620922";
const ZHUOYUAN: &str = "620922214200";

/// (category, name, basis, materials (；-separated), responsible,
///  steps "actor|action|days|publishes" separated by ；, risks "risk|supervision" separated by ；)
type Spec = (PowerCategory, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

const ORG_LAW: &str = "《中华人民共和国村民委员会组织法》";
const FOUR_TWO: &str = "村党组织提议|村党组织会议研究提出议题|5|；村两委会商议|村两委联席会议商议形成方案|5|；党员大会审议|召开党员大会审议方案|7|；村民代表会议决议|村民代表会议或村民会议表决|7|决议事项和表决结果；结果公开|在村务公开栏公开决议及实施结果|5|实施结果";
const RISK_DECIDE: &str = "少数人决定重大事项，规避民主程序|乡镇纪委审查会议记录，村务监督委员会列席监督；会议记录不全或事后补签|村务监督委员会查验签到和表决记录";
const RISK_MONEY: &str =
    "虚列支出、套取集体资金|乡镇经管站审核，村务监督委员会审签；优亲厚友|公示接受群众监督，设举报电话";

const CATALOGUE: &[Spec] = &[
    (
        PowerCategory::MajorDecision,
        "村级重大事项决策“四议两公开”",
        ORG_LAW,
        "议题提案；会议记录",
        "村党组织书记",
        FOUR_TWO,
        RISK_DECIDE,
    ),
    (
        PowerCategory::MajorDecision,
        "村级发展规划和年度计划制定",
        ORG_LAW,
        "规划草案；会议记录",
        "村党组织书记",
        FOUR_TWO,
        RISK_DECIDE,
    ),
    (
        PowerCategory::MajorDecision,
        "村集体经济项目立项",
        "《农村集体经济组织财务制度》",
        "项目可行性说明；会议记录",
        "村委会主任",
        FOUR_TWO,
        RISK_DECIDE,
    ),
    (
        PowerCategory::MajorDecision,
        "村规民约制定和修订",
        ORG_LAW,
        "村规民约草案；征求意见记录",
        "村委会主任",
        "村两委|起草村规民约草案并征求意见|15|草案；村民会议|讨论通过|7|表决结果；乡镇政府|备案审查|10|；村委会|公布施行|3|村规民约全文",
        RISK_DECIDE,
    ),
    (
        PowerCategory::MajorDecision,
        "土地承包经营权流转决策",
        "《中华人民共和国农村土地承包法》",
        "流转方案；流转合同草案",
        "村委会主任",
        FOUR_TWO,
        "流转价格明显偏低|乡镇农经站审核合同；未经集体决策擅自流转|村务监督委员会监督",
    ),
    (
        PowerCategory::Project,
        "村级工程项目招投标",
        "《甘肃省村级小型工程项目管理办法》",
        "项目立项决议；预算书；招标公告",
        "村委会主任",
        "村两委|提出项目和预算|7|项目名称和预算；村民代表会议|决议立项|7|决议结果；乡镇政府|审核招标方案|10|；村委会|公开招标或比选确定施工方|15|中标单位和中标价；村务监督委员会|监督施工和验收|30|验收结果",
        "虚假招标、围标串标|乡镇纪委派员监督开标；肢解工程规避招标|乡镇审核项目拆分；验收走过场|村民代表参与验收",
    ),
    (
        PowerCategory::Project,
        "村级小型工程项目建设管理",
        "《甘肃省村级小型工程项目管理办法》",
        "施工合同；监理记录",
        "村委会主任",
        "村委会|签订施工合同|7|合同主要内容；村务监督委员会|施工过程监督|60|；村委会|组织竣工验收|10|验收结果；乡镇政府|审计决算|20|决算结果",
        "擅自变更工程量|变更须经村民代表会议同意；偷工减料|村民代表全程监督",
    ),
    (
        PowerCategory::Project,
        "一事一议筹资筹劳",
        "《村民一事一议筹资筹劳管理办法》",
        "筹资方案；村民签字表",
        "村委会主任",
        "村委会|提出议事方案|7|方案；村民会议|表决|7|表决结果；乡镇政府|审核备案|10|；村委会|组织实施并公开收支|30|收支明细",
        "超标准筹资|乡镇审核筹资标准；资金挪用|专账管理，定期公开",
    ),
    (
        PowerCategory::Project,
        "项目资金使用管理",
        "《农村集体经济组织财务制度》",
        "资金拨付凭证；支出单据",
        "村报账员",
        "村委会|提出用款申请|3|；村务监督委员会|审核签字|3|；乡镇经管站|审核拨付|7|拨付金额；村委会|公开资金使用情况|5|使用明细",
        RISK_MONEY,
    ),
    (
        PowerCategory::Asset,
        "集体资产资源出租出让",
        "《农村集体资产管理条例》（甘肃省）",
        "资产清单；租赁方案；合同草案",
        "村委会主任",
        "村两委|提出出租出让方案|7|方案；村民代表会议|决议|7|决议结果；乡镇农经站|审核评估|10|；村委会|公开竞价确定承租人|15|成交价格和承租人；村委会|签订合同并备案|5|合同主要条款",
        "低价出租、暗箱操作|公开竞价，乡镇农经站审核；合同期限过长|超过规定期限须报乡镇审批",
    ),
    (
        PowerCategory::Asset,
        "集体资产处置（报废、变卖）",
        "《农村集体资产管理条例》（甘肃省）",
        "资产评估报告；处置方案",
        "村委会主任",
        "村委会|提出处置申请|5|；乡镇农经站|评估审核|10|评估价；村民代表会议|决议|7|决议结果；村委会|公开处置并入账|10|处置收入",
        "低估贱卖集体资产|评估后公开处置；收入不入账|乡镇经管站核查",
    ),
    (
        PowerCategory::Asset,
        "集体土地征收补偿款分配",
        "《中华人民共和国土地管理法》",
        "征地补偿协议；分配方案",
        "村党组织书记",
        "村两委|拟定分配方案|10|方案；村民会议|表决|7|表决结果；乡镇政府|审核|10|；村委会|公示分配名单|7|分配名单和金额；村委会|发放到户|15|发放结果",
        "截留挪用补偿款|资金直达到户，乡镇审计；虚报冒领|公示名单接受监督",
    ),
    (
        PowerCategory::Asset,
        "机动地发包",
        "《中华人民共和国农村土地承包法》",
        "机动地清单；发包方案",
        "村委会主任",
        "村委会|拟定发包方案|7|方案；村民代表会议|决议|7|决议结果；村委会|公开发包|10|承包人和价格；乡镇农经站|合同备案|5|",
        "优亲厚友低价发包|公开竞价；承包费不入账|村务监督委员会核查",
    ),
    (
        PowerCategory::Finance,
        "村级财务收支审批",
        "《农村集体经济组织财务制度》",
        "原始票据；审批单",
        "村委会主任",
        "经办人|取得票据并注明用途|3|；村务监督委员会|审核签字|3|；村委会主任|审批|3|；乡镇代理中心|审核记账|7|；村委会|按月公开财务收支|5|收支明细",
        RISK_MONEY,
    ),
    (
        PowerCategory::Finance,
        "村级非生产性开支管理",
        "《关于规范村级非生产性开支的意见》",
        "开支申请；票据",
        "村委会主任",
        "村委会|提出开支申请|3|；村务监督委员会|审核|3|；乡镇经管站|审批|5|；村委会|公开开支|5|开支明细",
        "超标准招待|执行开支限额，按月公开；白条入账|代理中心拒收不合规票据",
    ),
    (
        PowerCategory::Finance,
        "村干部误工补贴发放",
        "《甘肃省村干部报酬管理办法》",
        "误工记录；补贴发放表",
        "村委会主任",
        "村委会|统计误工天数|5|误工记录；村务监督委员会|审核|3|；乡镇政府|审批|7|；村报账员|发放到个人账户|5|发放金额",
        "虚报误工天数|村务监督委员会逐项核对；重复领取|乡镇审核比对",
    ),
    (
        PowerCategory::Finance,
        "集体收益分配",
        "《农村集体经济组织财务制度》",
        "收益核算表；分配方案",
        "村委会主任",
        FOUR_TWO,
        RISK_MONEY,
    ),
    (
        PowerCategory::Finance,
        "村级债权债务管理",
        "《农村集体经济组织财务制度》",
        "债务清单；借款合同",
        "村委会主任",
        "村委会|清理登记债权债务|10|债权债务清单；村民代表会议|审议举债或化债方案|7|审议结果；乡镇经管站|审核备案|7|；村委会|公开化债进度|5|化债进度",
        "违规举债|举债须经村民代表会议和乡镇审批；债权不催收|定期公开债权清单",
    ),
    (
        PowerCategory::Personnel,
        "党员发展",
        "《中国共产党发展党员工作细则》",
        "入党申请书；培养考察材料",
        "村党组织书记",
        "村党组织|确定入党积极分子|30|；村党组织|培养考察|365|；村党组织|确定发展对象并公示|7|发展对象名单；党员大会|讨论接收预备党员|10|；乡镇党委|审批|90|审批结果",
        "降低标准突击发展|乡镇党委严格审查；优亲厚友|公示接受党员群众监督",
    ),
    (
        PowerCategory::Personnel,
        "村务监督委员会成员推选",
        ORG_LAW,
        "候选人名单；推选记录",
        "村党组织书记",
        "村党组织|提出推选方案|7|方案；村民代表会议|推选产生|7|推选结果；乡镇政府|备案|5|",
        "推选程序不规范|乡镇派员指导监督；村干部近亲属担任|资格审查",
    ),
    (
        PowerCategory::Personnel,
        "村聘用人员选聘（护林员、保洁员等）",
        "《甘肃省生态护林员管理办法》",
        "报名表；身份证复印件",
        "村委会主任",
        "村委会|发布选聘公告|3|选聘条件和名额；村委会|报名和资格审查|7|；村民代表会议|评议推荐|7|推荐人选；乡镇政府|审核聘用|10|聘用名单",
        "优亲厚友|评议推荐结果公示；吃空饷|乡镇定期考核",
    ),
    (
        PowerCategory::Personnel,
        "村民小组长推选",
        ORG_LAW,
        "推选记录",
        "村委会主任",
        "村委会|组织推选|5|；村民小组会议|推选产生|5|推选结果；村委会|公布并备案|3|",
        "指定人选|乡镇监督推选过程",
    ),
    (
        PowerCategory::Personnel,
        "入伍青年政审",
        "《征兵政治审核工作规定》",
        "户口簿；政审表",
        "村党组织书记",
        "村委会|受理政审材料|3|；村两委|走访调查|7|；村委会|出具政审意见|3|；乡镇武装部|审核|7|",
        "出具虚假政审意见|乡镇武装部复核",
    ),
    (
        PowerCategory::Homestead,
        "宅基地申请审查",
        "《中华人民共和国土地管理法》",
        "宅基地申请表；户口簿；身份证；现住房证明",
        "村委会主任",
        "农户|提出书面申请|1|；村民小组|讨论通过并公示|7|申请人和用地位置；村委会|审查并签署意见|5|；乡镇政府|审批|20|审批结果；乡镇政府|实地丈量批放|5|",
        "不符合条件的农户获批|公示接受群众监督；超面积占地|乡镇实地丈量核查",
    ),
    (
        PowerCategory::Homestead,
        "村民建房审批",
        "《甘肃省农村村民住宅用地管理办法》",
        "建房申请表；宅基地使用证明；设计图",
        "村委会主任",
        "农户|提出建房申请|1|；村委会|审查并公示|7|申请人和建房位置；乡镇政府|审批发放规划许可|20|审批结果；乡镇政府|开工查验和竣工验收|30|验收结果",
        "违规审批、吃拿卡要|乡镇纪委监督，公开审批结果；未批先建|村委会日常巡查",
    ),
    (
        PowerCategory::Homestead,
        "农村危房改造对象评定",
        "《农村危房改造补助资金管理办法》",
        "申请书；房屋照片；身份证",
        "村委会主任",
        "农户|提出申请|1|；村委会|入户核查|10|；村民代表会议|评议|7|评议结果；村委会|公示|7|拟补助对象；乡镇政府|审核上报|15|审核结果",
        "评定不公、优亲厚友|公示接受监督；虚报套取补助|乡镇入户复核",
    ),
    (
        PowerCategory::Relief,
        "低保申请初审",
        "《社会救助暂行办法》",
        "低保申请书；户口簿；收入证明；家庭财产申报",
        "村委会主任",
        "申请人|提出申请|1|；村委会|入户调查|10|；村民代表会议|民主评议|7|评议结果；村委会|公示评议结果|7|拟上报名单；乡镇政府|审核上报|15|审核结果",
        "人情保、关系保|民主评议并公示，乡镇入户抽查；村干部近亲属违规享受|备案审查",
    ),
    (
        PowerCategory::Relief,
        "临时救助申请",
        "《社会救助暂行办法》",
        "救助申请书；困难情况证明",
        "村委会主任",
        "申请人|提出申请|1|；村委会|调查核实|3|；村委会|签署意见并公示|5|救助对象和金额；乡镇政府|审批发放|7|发放结果",
        "重复救助|乡镇信息比对；截留救助资金|资金直达到户",
    ),
    (
        PowerCategory::Relief,
        "特困人员供养申请",
        "《特困人员认定办法》",
        "申请书；身份证；残疾证或诊断证明",
        "村委会主任",
        "申请人|提出申请|1|；村委会|入户调查|10|；村委会|公示|7|拟认定对象；乡镇政府|审核|15|；县民政局|审批|20|审批结果",
        "不符合条件人员纳入供养|公示接受监督",
    ),
    (
        PowerCategory::Relief,
        "医疗救助申请",
        "《社会救助暂行办法》",
        "申请书；医疗费用票据；诊断证明",
        "村委会主任",
        "申请人|提出申请|1|；村委会|核实签署意见|5|；乡镇政府|审核|7|；县医保局|审批发放|15|救助结果",
        "虚开票据套取救助|医保部门核查票据",
    ),
    (
        PowerCategory::Relief,
        "残疾人两项补贴申请",
        "《关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》",
        "申请表；残疾证；户口簿",
        "村委会主任",
        "申请人|提出申请|1|；村委会|核实|5|；乡镇政府|审核|10|；县残联|审批|15|审批结果",
        "冒领已故人员补贴|定期核查生存状态",
    ),
    (
        PowerCategory::Relief,
        "耕地地力保护补贴面积核实",
        "《耕地地力保护补贴资金管理办法》",
        "承包合同；种植面积登记表",
        "村委会主任",
        "村民小组|登记种植面积|10|；村委会|核实汇总并公示|7|面积和户名；乡镇政府|审核上报|10|",
        "虚报面积|公示接受监督，乡镇抽查",
    ),
    (
        PowerCategory::Certificate,
        "证明出具盖章",
        ORG_LAW,
        "申请人身份证；相关材料",
        "村委会主任",
        "申请人|提出申请|1|；村委会|核实情况|2|；村委会|出具证明并登记|1|",
        "出具虚假证明|印章专人管理，用印登记；吃拿卡要|公开办理时限",
    ),
    (
        PowerCategory::Certificate,
        "村级印章使用管理",
        "《村级印章管理办法》",
        "用印申请单",
        "村党组织书记",
        "经办人|填写用印申请|1|；村党组织书记|审批|1|；印章管理人|用印并登记|1|",
        "擅自用印|用印登记，村务监督委员会每月检查",
    ),
    (
        PowerCategory::Certificate,
        "户籍迁移和分户证明",
        "《户口登记条例》",
        "户口簿；身份证；申请书",
        "村委会主任",
        "申请人|提出申请|1|；村委会|核实家庭情况|3|；村委会|出具证明|1|",
        "违规出具分户证明套取利益|村务监督委员会核查",
    ),
    (
        PowerCategory::Certificate,
        "流动人口和外出务工证明",
        ORG_LAW,
        "身份证；务工情况说明",
        "村委会主任",
        "申请人|提出申请（可由家属代办）|1|；村委会|核实并出具证明|2|",
        "证明内容不实|用印登记备查",
    ),
];

/// A local item of 卓园村 only.
const LOCAL: Spec = (
    PowerCategory::Asset,
    "卓园村集体葡萄晾房出租",
    "卓园村村规民约；《农村集体资产管理条例》（甘肃省）",
    "晾房清单；租赁方案",
    "卓园村委会主任",
    "村两委|提出出租方案|5|方案；村民代表会议|决议|5|决议结果；村委会|公开竞价|10|成交价格；村委会|签订合同|3|合同主要条款",
    "低价出租|公开竞价，村务监督委员会监督",
);

fn split(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.split('；').filter(|s| !s.is_empty()).map(|s| s.split('|').collect())
}

fn item_of(spec: &Spec, org_code: &str) -> Result<NewPowerItem> {
    let (category, name, basis, materials, responsible, steps, risks) = *spec;
    let steps: Vec<ProcedureStep> = split(steps)
        .map(|p| {
            Ok(ProcedureStep {
                actor: p.first().copied().unwrap_or_default().to_owned(),
                action: p.get(1).copied().unwrap_or_default().to_owned(),
                limit_days: p.get(2).copied().unwrap_or_default().parse().with_context(|| format!("{name}: limit"))?,
                publishes: p.get(3).copied().unwrap_or_default().to_owned(),
            })
        })
        .collect::<Result<_>>()?;
    let risks: Vec<RiskPoint> = split(risks)
        .map(|p| RiskPoint {
            risk: p.first().copied().unwrap_or_default().to_owned(),
            supervision: p.get(1).copied().unwrap_or_default().to_owned(),
        })
        .collect();
    power::check_risks(&risks).with_context(|| name.to_owned())?;
    let total = power::total_limit(&steps, None).with_context(|| name.to_owned())?;
    let duties = duties_of(responsible, &steps);
    let accountability = accountability_of(category, &risks);
    Ok(NewPowerItem {
        org_code: org_code.to_owned(),
        category,
        name: name.to_owned(),
        basis: basis.to_owned(),
        materials: materials.replace('；', "\n"),
        responsible: responsible.to_owned(),
        total_days: i64::from(total),
        steps,
        risks,
        duties,
        accountability,
        created_by: None,
    })
}

/// The 责任清单 of an item: its responsible person answers for the whole at step 1, then each
/// step's actor for that step, in words that fit who the actor is.
fn duties_of(responsible: &str, steps: &[ProcedureStep]) -> Vec<Duty> {
    let mut out = vec![Duty {
        step_no: 1,
        bearer: responsible.to_owned(),
        duty: "对本事项负第一责任，组织按程序、按时限办理，不得授意或默许违规操作".to_owned(),
    }];
    for (no, step) in (1_u16..).zip(steps) {
        let actor = step.actor.as_str();
        let how = if actor.contains("监督委员会") {
            "全程监督并签字确认，发现问题及时向乡镇纪委报告"
        } else if actor.contains("会议") || actor.contains("大会") {
            "确保到会人数和表决程序合法，会议记录完整并由参会人员签字"
        } else if actor.contains("乡镇") || actor.contains("站") || actor.contains("中心") || actor.contains("党委")
        {
            "依规审核把关，对审核结论负责，不得降低标准或超时限办理"
        } else if actor.contains("申请人") || actor.contains("经办人") {
            "如实提供材料，对材料的真实性负责"
        } else {
            "按时限办理，对办理结果的真实性、合规性负直接责任"
        };
        let publish =
            if step.publishes.is_empty() { String::new() } else { format!("；按时公开{}", step.publishes) };
        out.push(Duty { step_no: no, bearer: actor.to_owned(), duty: format!("{}：{how}{publish}", step.action) });
    }
    out
}

const DISCIPLINE: &str = "《中国共产党纪律处分条例》";
const SANCTIONS: &str = "《中华人民共和国公职人员政务处分法》";
const CLEAN: &str = "《农村基层干部廉洁履行职责若干规定（试行）》";
const ACCOUNTABLE: &str = "《中国共产党问责条例》";

/// The 追责清单 of an item: the breaches typical of its category, then each risk point as a
/// breach, and the overrun of its time limits.
fn accountability_of(category: PowerCategory, risks: &[RiskPoint]) -> Vec<Accountability> {
    let row = |breach: &str, measure: &str, basis: String| Accountability {
        breach: breach.to_owned(),
        measure: measure.to_owned(),
        basis,
    };
    let mut out = match category {
        PowerCategory::MajorDecision => vec![row(
            "未经“四议两公开”程序决定重大事项",
            "责令纠正，对村党组织书记、村委会主任诫勉谈话；造成损失的给予党纪政务处分",
            format!("{CLEAN}；{ACCOUNTABLE}"),
        )],
        PowerCategory::Project => vec![row(
            "规避招标、虚假招标或围标串标",
            "责令停止实施，追回损失，移送纪检监察机关；涉嫌犯罪的移送司法机关",
            format!("《中华人民共和国招标投标法》；{DISCIPLINE}"),
        )],
        PowerCategory::Asset => vec![row(
            "擅自低价出租出让、处置集体资产资源",
            "追缴集体损失，对责任人给予党纪政务处分，情节严重的依法罢免",
            format!("{CLEAN}；《中华人民共和国村民委员会组织法》"),
        )],
        PowerCategory::Finance => vec![row(
            "虚列支出、截留挪用或坐收坐支集体资金",
            "追回资金，给予党纪政务处分；涉嫌挪用资金、职务侵占的移送司法机关",
            format!("{DISCIPLINE}；《中华人民共和国刑法》"),
        )],
        PowerCategory::Personnel => vec![row(
            "降低标准、违反程序或优亲厚友",
            "程序无效并重新办理，对责任人批评教育、诫勉谈话；情节严重的给予党纪处分",
            format!("{DISCIPLINE}；{ACCOUNTABLE}"),
        )],
        PowerCategory::Homestead => vec![row(
            "违规审批宅基地或为“一户多宅”出具同意意见",
            "撤销审批意见，责令纠正；对责任人给予政务处分",
            format!("《中华人民共和国土地管理法》；{SANCTIONS}"),
        )],
        PowerCategory::Relief => vec![row(
            "优亲厚友、虚报冒领救助资金",
            "取消不符合条件人员的资格并追回资金，对责任人给予党纪政务处分",
            format!("《社会救助暂行办法》；{DISCIPLINE}"),
        )],
        PowerCategory::Certificate => vec![row(
            "出具虚假证明或借出具证明索取财物",
            "收回证明，批评教育；情节严重的给予党纪政务处分",
            format!("{CLEAN}；{SANCTIONS}"),
        )],
    };
    for risk in risks {
        out.push(row(
            &risk.risk,
            "视情节给予提醒谈话、诫勉谈话或党纪政务处分，造成集体或群众损失的责令赔偿",
            format!("{DISCIPLINE}；{SANCTIONS}"),
        ));
    }
    out.push(row(
        "无正当理由超过步骤时限或未按规定公开",
        "责令限期整改，通报批评；造成不良影响的诫勉谈话",
        ACCOUNTABLE.to_owned(),
    ));
    out
}

async fn ensure_item(store: &Store, spec: &Spec, org_code: &str, now: i64) -> Result<i64> {
    if let Some(found) = store.find_power_item_by_name(org_code, spec.1).await? {
        let listed = !store.power_item_duties(found.id).await?.is_empty()
            || !store.power_item_accountability(found.id).await?.is_empty();
        if !listed {
            let item = item_of(spec, org_code)?;
            store.set_power_item_lists(found.id, found.version, &item.duties, &item.accountability, now).await?;
        }
        return Ok(found.id);
    }
    Ok(store.add_power_item(&item_of(spec, org_code)?, now).await?)
}

/// (village, item name, title, start, steps as (step no, date, who, what, decision))
type RecordSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(i64, &'static str, &'static str, &'static str, &'static str)],
);

const RECORDS: &[RecordSpec] = &[
    // Step 4 (公开招标, limit 15 days) takes 27 days: late.
    (
        ZHUOYUAN,
        "村级工程项目招投标",
        "2025年村道硬化工程招标",
        "2025-03-03",
        &[
            (1, "2025-03-06", "卓园村两委", "提出村道硬化项目，预算38.6万元", "形成项目方案"),
            (2, "2025-03-12", "村民代表会议", "42名代表表决", "39票同意，立项"),
            (3, "2025-03-20", "广至乡政府", "审核招标方案", "同意招标"),
            (4, "2025-04-16", "卓园村委会", "公开比选三家施工单位", "瓜州县某建筑公司中标，中标价36.2万元"),
            (5, "2025-05-10", "村务监督委员会", "监督施工并参与验收", "验收合格"),
        ],
    ),
    // Step 3 (民主评议) is left out: skipped.
    (
        ZHUOYUAN,
        "低保申请初审",
        "2025年第二季度低保申请初审（祁某某户）",
        "2025-04-01",
        &[
            (1, "2025-04-01", "申请人祁某某", "提交低保申请书及收入证明", ""),
            (2, "2025-04-08", "卓园村委会", "入户调查家庭收入和财产", "符合申请条件"),
            (4, "2025-04-12", "卓园村委会", "在村务公开栏公示拟上报名单", "公示无异议"),
            (5, "2025-04-22", "广至乡政府", "审核上报", "同意上报县民政局"),
        ],
    ),
    (
        ZHUOYUAN,
        "集体资产资源出租出让",
        "2025年集体草场出租",
        "2025-02-10",
        &[
            (1, "2025-02-12", "卓园村两委", "提出草场出租方案", "形成方案"),
            (2, "2025-02-18", "村民代表会议", "表决出租方案", "通过"),
            (3, "2025-02-25", "广至乡农经站", "评估审核底价", "底价每亩每年35元"),
            (4, "2025-03-08", "卓园村委会", "公开竞价", "成交价每亩每年41元"),
            (5, "2025-03-10", "卓园村委会", "签订合同并报乡镇备案", "合同期5年"),
        ],
    ),
    (
        ZHUOYUAN,
        "证明出具盖章",
        "为外出务工村民出具居住证明",
        "2025-06-03",
        &[
            (1, "2025-06-03", "村民家属", "代为提出申请", ""),
            (2, "2025-06-04", "卓园村委会", "核实居住情况", "情况属实"),
            (3, "2025-06-04", "卓园村委会", "出具证明并登记用印", "已出具"),
        ],
    ),
    (
        "620922214201",
        "宅基地申请审查",
        "2025年村民宅基地申请审查（马某某户）",
        "2025-03-15",
        &[
            (1, "2025-03-15", "申请人马某某", "提交宅基地申请", ""),
            (2, "2025-03-20", "二组村民小组", "讨论通过并公示", "公示无异议"),
            (3, "2025-03-24", "村委会", "审查签署意见", "同意上报"),
            (4, "2025-04-10", "广至乡政府", "审批", "批准用地0.25亩"),
        ],
    ),
    (
        "620922214202",
        "村干部误工补贴发放",
        "2025年上半年村干部误工补贴发放",
        "2025-07-01",
        &[
            (1, "2025-07-04", "村委会", "统计误工天数", "共计126天"),
            (2, "2025-07-06", "村务监督委员会", "逐项审核", "核减4天"),
            (3, "2025-07-12", "广至乡政府", "审批", "同意发放"),
            (4, "2025-07-15", "村报账员", "发放到个人账户", "共计6100元"),
        ],
    ),
];

pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    for spec in CATALOGUE {
        ensure_item(store, spec, COUNTY, now).await?;
    }
    ensure_item(store, &LOCAL, ZHUOYUAN, now).await?;
    let clerk = store.find_staff_by_username("zhuoyuan").await?.context("demo clerk account")?.id;
    let township_admin = store.find_staff_by_username("guangzhi").await?.context("demo township account")?.id;
    let mut late = String::new();
    let mut skipped = String::new();
    for (village, item_name, title, start, steps) in RECORDS {
        if store.find_org(village).await?.is_none() {
            continue;
        }
        let item = store.find_power_item_by_name(COUNTY, item_name).await?.context("demo item")?;
        let by = if *village == ZHUOYUAN { clerk } else { township_admin };
        let id = match store.find_power_exercise_by_title(village, item.id, title).await? {
            Some(found) => found.id,
            None => {
                let new = NewPowerExercise {
                    item_id: item.id,
                    org_code: (*village).to_owned(),
                    title: (*title).to_owned(),
                    started_on: (*start).to_owned(),
                    created_by: by,
                };
                let id = store.open_power_exercise(&new, now).await?;
                for (step_no, done_on, who, what, decision) in *steps {
                    let record = NewPowerStepRecord {
                        exercise_id: id,
                        step_no: *step_no,
                        done_on: (*done_on).to_owned(),
                        actor_name: (*who).to_owned(),
                        action: (*what).to_owned(),
                        decision: (*decision).to_owned(),
                        recorded_by: by,
                    };
                    store.record_power_step(&record, now).await?;
                }
                store.publish_power_exercise(id, now).await?;
                id
            }
        };
        if title.contains("村道硬化") {
            late = format!("/power-records/{id}");
        } else if title.contains("低保") {
            skipped = format!("/power-records/{id}");
        }
    }
    println!("小微权力演示数据已就绪：县级清单 {} 项，卓园村本村事项 1 项。", CATALOGUE.len());
    println!("  有超时步骤的运行记录：{late}");
    println!("  有跳过步骤的运行记录：{skipped}");
    Ok(())
}
