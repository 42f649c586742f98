// The published guidelines the care-plan rules cite. Every figure a rule uses is stated in the cited
// document; where a rule adds a choice of its own, its text says "project choice". docs/CARE-PLAN.md
// lists each rule with the passage it rests on.

/// A guideline a care-plan rule comes from.
public enum Guideline: String, Sendable, CaseIterable {
    /// ADA Standards of Care in Diabetes—2024, Section 2 (diagnosis thresholds, screening, retest intervals).
    case adaDiagnosis = "ada-2024-s2"
    /// ADA Standards of Care in Diabetes—2024, Section 3 (prevention: lifestyle programme, metformin).
    case adaPrevention = "ada-2024-s3"
    /// ADA Standards of Care in Diabetes—2024, Section 5 (DSMES, nutrition therapy, physical activity).
    case adaHealthBehaviours = "ada-2024-s5"
    /// ADA Standards of Care in Diabetes—2024, Section 6 (A1C testing frequency).
    case adaGlycemicGoals = "ada-2024-s6"
    /// ADA Standards of Care in Diabetes—2024, Section 8 (weight loss in type 2 diabetes).
    case adaObesity = "ada-2024-s8"
    /// ADA Standards of Care in Diabetes—2024, Section 9 (very high glucose).
    case adaPharmacologic = "ada-2024-s9"
    /// ADA Standards of Care in Diabetes—2024, Section 10 (blood pressure measurement).
    case adaCardiovascular = "ada-2024-s10"
    /// Diabetes Prevention Program, NEJM 2002.
    case diabetesPreventionProgram = "dpp-2002"
    /// 2017 ACC/AHA high blood pressure guideline.
    case accAhaBloodPressure = "acc-aha-2017-bp"
    /// Physical Activity Guidelines for Americans, 2nd edition, 2018.
    case physicalActivityGuidelines = "pag-2018"
    /// 2013 AHA/ACC/TOS overweight and obesity guideline.
    case ahaAccTosObesity = "aha-acc-tos-2013-obesity"

    /// The citation.
    public var citation: String {
        let ada = "American Diabetes Association Professional Practice Committee. "
        let adaSource = ": Standards of Care in Diabetes—2024. Diabetes Care 2024;47(Suppl. 1)"
        switch self {
        case .adaDiagnosis: return ada + "2. Diagnosis and Classification of Diabetes" + adaSource
        case .adaPrevention: return ada + "3. Prevention or Delay of Diabetes and Associated Comorbidities" + adaSource
        case .adaHealthBehaviours:
            return ada + "5. Facilitating Positive Health Behaviors and Well-being to Improve Health Outcomes" + adaSource
        case .adaGlycemicGoals: return ada + "6. Glycemic Goals and Hypoglycemia" + adaSource
        case .adaObesity:
            return ada + "8. Obesity and Weight Management for the Prevention and Treatment of Type 2 Diabetes"
                + adaSource
        case .adaPharmacologic: return ada + "9. Pharmacologic Approaches to Glycemic Treatment" + adaSource
        case .adaCardiovascular: return ada + "10. Cardiovascular Disease and Risk Management" + adaSource
        case .diabetesPreventionProgram:
            return "Diabetes Prevention Program Research Group. Reduction in the incidence of type 2 diabetes with "
                + "lifestyle intervention or metformin. N Engl J Med 2002;346:393-403"
        case .accAhaBloodPressure:
            return "Whelton PK, Carey RM, et al. 2017 ACC/AHA/AAPA/ABC/ACPM/AGS/APhA/ASH/ASPC/NMA/PCNA Guideline for "
                + "the Prevention, Detection, Evaluation, and Management of High Blood Pressure in Adults. "
                + "Hypertension 2018;71:e13-e115"
        case .physicalActivityGuidelines:
            return "U.S. Department of Health and Human Services. Physical Activity Guidelines for Americans, "
                + "2nd edition, 2018"
        case .ahaAccTosObesity:
            return "Jensen MD, Ryan DH, et al. 2013 AHA/ACC/TOS Guideline for the Management of Overweight and "
                + "Obesity in Adults. Circulation 2014;129(25 Suppl 2):S102-S138"
        }
    }
}
