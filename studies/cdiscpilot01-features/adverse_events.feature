Feature: Adverse events: a repeating group with row checks

  Background:
    Given a subject "701-1004" at site "701"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |

  Scenario: An event ending before it starts is refused
    When a new row of "AE" on form "AE" at visit "LOGS" is saved with:
      | AETERM   | AESTDTC    | AEONGO | AEENDTC    | AESEV | AESER | AEREL | AEACN            | AEOUT              |
      | HEADACHE | 2024-02-10 | false  | 2024-02-01 | MILD  | N     | NONE  | DOSE NOT CHANGED | RECOVERED/RESOLVED |
    Then the save is rejected with "The end date is before the start date"

  Scenario: A serious event needs a seriousness criterion
    When a new row of "AE" on form "AE" at visit "LOGS" is saved with:
      | AETERM  | AESTDTC    | AEONGO | AESEV  | AESER | AEREL    | AEACN            | AEOUT                |
      | SYNCOPE | 2024-02-10 | true   | SEVERE | Y     | POSSIBLE | DRUG INTERRUPTED | RECOVERING/RESOLVING |
    Then a query is open on "AE.AESER" with message "seriousness criterion"
    When row 1 of "AE" on form "AE" at visit "LOGS" is saved with:
      | AESHOSP |
      | true    |
    Then no query is open on "AE.AESER"

  Scenario: An event resulting in death must be serious
    When a new row of "AE" on form "AE" at visit "LOGS" is saved with:
      | AETERM          | AESTDTC    | AEONGO | AEENDTC    | AESEV  | AESER | AEREL | AEACN          | AEOUT |
      | CARDIAC ARREST  | 2024-02-10 | false  | 2024-02-10 | SEVERE | N     | NONE  | NOT APPLICABLE | FATAL |
    Then a query is open on "AE.AEOUT" with message "not marked as resulting in death"

  Scenario: An event before consent belongs in medical history
    When a new row of "AE" on form "AE" at visit "LOGS" is saved with:
      | AETERM   | AESTDTC    | AEONGO | AESEV | AESER | AEREL | AEACN            | AEOUT                      |
      | BACKACHE | 2023-12-01 | true   | MILD  | N     | NONE  | DOSE NOT CHANGED | NOT RECOVERED/NOT RESOLVED |
    Then a query is open on "AE.AESTDTC" with message "before consent"

  Scenario: Recording an adverse event answers the vital signs check
    Given the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE |
      | SITTING | 128   | 78    | 125   |
    And a query from check "VS05" is open
    When a new row of "AE" on form "AE" at visit "LOGS" is saved with:
      | AETERM      | AESTDTC    | AEONGO | AESEV | AESER | AEREL | AEACN            | AEOUT                      |
      | TACHYCARDIA | 2024-01-02 | true   | MILD  | N     | NONE  | DOSE NOT CHANGED | NOT RECOVERED/NOT RESOLVED |
    Then no query from check "VS05" is open
    And a query from check "PULSE.soft_range" is open
