Feature: Demographics and derivations

  Background:
    Given a subject "701-1002" at site "701"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |

  Scenario: Age is derived from the date of birth at consent
    When the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1950-01-03 | M   | WHITE |
    Then "SCREENING1/DM/AGE" is "73"
    And no query is open

  Scenario: Age is recomputed when the consent date changes
    Given the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1950-01-03 | M   | WHITE |
    When the form "IC" at visit "SCREENING1" is saved with reason "Other: date misread" with:
      | ICDTC      |
      | 2024-01-04 |
    Then "SCREENING1/DM/AGE" is "74"

  Scenario: A derived item cannot be typed
    When the form "DM" at visit "SCREENING1" is saved with:
      | AGE |
      | 70  |
    Then the save is rejected with "AGE is derived"

  Scenario: Postmenopausal status is not asked of men
    When the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | POSTMENO | RACE  |
      | 1950-01-03 | M   | Y        | WHITE |
    Then the save is rejected with "POSTMENO is not asked"

  Scenario: A value outside the code list is refused
    When the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE     |
      | 1950-01-03 | X   | WHITE    |
    Then the save is rejected with "is not a code of SEX"

  Scenario: A date of birth in the future is refused
    When the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 2030-01-01 | M   | WHITE |
    Then the save is rejected with "The date of birth must be in the past"

  Scenario: A changed value needs a reason
    Given the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1950-01-03 | M   | WHITE |
    When the form "DM" at visit "SCREENING1" is saved with:
      | RACE  |
      | ASIAN |
    Then the save is rejected with "a reason for change is required: RACE from"
    When the form "DM" at visit "SCREENING1" is saved with reason "Other: source corrected" with:
      | RACE  |
      | ASIAN |
    Then the save succeeds
    And "DM.RACE" is "ASIAN"
