Feature: Eligibility (TI inclusion and exclusion criteria)
  The criteria of the CDISCPILOT01 protocol decide who may be enrolled.

  Background:
    Given a subject "701-1001" at site "701"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |

  Scenario: An eligible subject is enrolled
    Given the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1945-03-01 | M   | WHITE |
    And the form "IE" at visit "SCREENING1" is saved with:
      | IEDTC      | MMSE | HACHIN | INCL02 | INCL05 | INCL06 | INCL07 | INCL08 | EXCL10 | EXCL11 | EXCL16 | EXCL17 | EXCL27 |
      | 2024-01-03 | 18   | 2      | Y      | Y      | Y      | Y      | Y      | N      | N      | N      | N      | N      |
    Then the subject is eligible
    When the subject is enrolled
    Then the command succeeds
    And the subject status is "enrolled"

  Scenario: A subject aged 17 fails INCL01 and a query opens on the date of birth
    When the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 2006-06-01 | M   | WHITE |
    Then "SCREENING1/DM/AGE" is "17"
    And a query is open on "DM.BRTHDTC" with message "INCL01"
    When the form "IE" at visit "SCREENING1" is saved with:
      | IEDTC      | MMSE | HACHIN | INCL02 | INCL05 | INCL06 | INCL07 | INCL08 | EXCL10 | EXCL11 | EXCL16 | EXCL17 | EXCL27 |
      | 2024-01-03 | 18   | 2      | Y      | Y      | Y      | Y      | Y      | N      | N      | N      | N      | N      |
    Then the subject is not eligible because "INCL01 not met"
    When the subject is enrolled
    Then the command is rejected with "INCL01 not met"
    When the subject fails screening because "INCL01: younger than 50"
    Then the subject status is "screen_failed"

  Scenario: MMSE above 23 fails INCL03
    Given the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1945-03-01 | M   | WHITE |
    When the form "IE" at visit "SCREENING1" is saved with:
      | IEDTC      | MMSE | HACHIN | INCL02 | INCL05 | INCL06 | INCL07 | INCL08 | EXCL10 | EXCL11 | EXCL16 | EXCL17 | EXCL27 |
      | 2024-01-03 | 26   | 2      | Y      | Y      | Y      | Y      | Y      | N      | N      | N      | N      | N      |
    Then a query is open on "IE.MMSE" with message "INCL03"
    And the subject is not eligible because "INCL03 not met"

  Scenario: An exclusion that applies makes the subject ineligible
    Given the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1945-03-01 | M   | WHITE |
    When the form "IE" at visit "SCREENING1" is saved with:
      | IEDTC      | MMSE | HACHIN | INCL02 | INCL05 | INCL06 | INCL07 | INCL08 | EXCL10 | EXCL11 | EXCL16 | EXCL17 | EXCL27 |
      | 2024-01-03 | 18   | 2      | Y      | Y      | Y      | Y      | Y      | Y      | N      | N      | N      | N      |
    Then the subject is not eligible because "EXCL10 applies"

  Scenario: Eligibility cannot be judged before the criteria are entered
    Then eligibility is incomplete
    When the subject is enrolled
    Then the command is rejected with "eligibility incomplete"

  Scenario: A female subject must be postmenopausal
    When the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | POSTMENO | RACE  |
      | 1950-03-01 | F   | N        | WHITE |
    Then a query is open on "DM.POSTMENO" with message "postmenopausal"
    When the form "IE" at visit "SCREENING1" is saved with:
      | IEDTC      | MMSE | HACHIN | INCL02 | INCL05 | INCL06 | INCL07 | INCL08 | EXCL10 | EXCL11 | EXCL16 | EXCL17 | EXCL27 |
      | 2024-01-03 | 18   | 2      | Y      | Y      | Y      | Y      | Y      | N      | N      | N      | N      | N      |
    Then the subject is not eligible because "INCL01 not met"

  Scenario: Eligibility assessed before consent is refused
    When the form "IE" at visit "SCREENING1" is saved with:
      | IEDTC      | MMSE | HACHIN | INCL02 | INCL05 | INCL06 | INCL07 | INCL08 | EXCL10 | EXCL11 | EXCL16 | EXCL17 | EXCL27 |
      | 2023-12-30 | 18   | 2      | Y      | Y      | Y      | Y      | Y      | N      | N      | N      | N      | N      |
    Then the save is rejected with "Eligibility cannot be assessed before informed consent"
