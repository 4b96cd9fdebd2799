Feature: Vital signs: ranges, checks and body mass index

  Background:
    Given a subject "708-1003" at site "708"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |

  Scenario: A plausible set of vital signs raises nothing and BMI is derived
    When the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE | TEMP | WEIGHT | HEIGHT |
      | SITTING | 128   | 78    | 70    | 36.6 | 72.0   | 175.0  |
    Then no query is open
    And "SCREENING1/VS/BMI" is "23.5"
    And the form "VS" at visit "SCREENING1" is complete

  Scenario: An impossible systolic pressure is refused
    When the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE |
      | SITTING | 1280  | 78    | 70    |
    Then the save is rejected with "must be 40 to 300"

  Scenario: A high systolic pressure opens a query that closes when corrected
    When the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE |
      | SITTING | 168   | 78    | 70    |
    Then a query is open on "VS.SYSBP" with message "outside the expected 90 to 160"
    When query 1 is answered with "Typo; corrected"
    Then query 1 is answered
    When the form "VS" at visit "SCREENING1" is saved with reason "Other: transcription error" with:
      | SYSBP |
      | 128   |
    Then no query is open
    And query 1 is closed

  Scenario: Diastolic above systolic is refused
    When the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE |
      | SITTING | 80    | 95    | 70    |
    Then the save is rejected with "Systolic pressure must be above diastolic pressure"

  Scenario: Too many decimals are refused
    When the form "VS" at visit "SCREENING1" is saved with:
      | TEMP  |
      | 36.65 |
    Then the save is rejected with "at most 1 are allowed"

  Scenario: A partial save leaves the form in progress
    When the form "VS" at visit "SCREENING1" is saved with:
      | SYSBP | DIABP |
      | 128   | 78    |
    Then the save succeeds
    And the form "VS" at visit "SCREENING1" is in progress

  Scenario: A tachycardia with no adverse event raises a query
    When the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE |
      | SITTING | 128   | 78    | 125   |
    Then a query is open on "VS.PULSE" with message "no adverse event on the log"
