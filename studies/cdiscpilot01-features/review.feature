Feature: Review: queries, verification, signatures, freeze and lock

  Background:
    Given a subject "703-1006" at site "703"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |
    And the form "DM" at visit "SCREENING1" is saved with:
      | BRTHDTC    | SEX | RACE  |
      | 1944-08-20 | M   | WHITE |

  Scenario: A monitor's query is answered, closed and re-opened
    When a query is raised on "DM.RACE" at visit "SCREENING1" with message "Please confirm race"
    Then a query is open on "DM.RACE" with message "Please confirm race"
    When query 1 is answered with "Confirmed with the subject"
    And query 1 is closed
    Then query 1 is closed
    When query 1 is re-opened with "The chart disagrees"
    Then query 1 is open

  Scenario: A query cannot be closed twice
    Given a query is raised on "DM.RACE" at visit "SCREENING1" with message "Please confirm race"
    And query 1 is closed
    When query 1 is closed
    Then the command is rejected with "query 1 is closed; it cannot be closed"

  Scenario: A change after signing breaks the signature
    When the investigator signs the form "DM" at visit "SCREENING1" for approval
    Then signature 1 is valid
    When the form "DM" at visit "SCREENING1" is saved with:
      | ETHNIC                 |
      | NOT HISPANIC OR LATINO |
    Then signature 1 is broken

  Scenario: Changes elsewhere leave a form signature intact
    When the investigator signs the form "DM" at visit "SCREENING1" for approval
    And the form "VS" at visit "SCREENING1" is saved with:
      | VSPOS   | SYSBP | DIABP | PULSE |
      | SITTING | 128   | 78    | 70    |
    Then signature 1 is valid

  Scenario: A frozen form takes no changes until unfrozen
    When the form "DM" at visit "SCREENING1" is frozen
    And the form "DM" at visit "SCREENING1" is saved with:
      | ETHNIC                 |
      | NOT HISPANIC OR LATINO |
    Then the save is rejected with "SCREENING1/DM is frozen"
    When the form "DM" at visit "SCREENING1" is unfrozen because "late correction"
    And the form "DM" at visit "SCREENING1" is saved with:
      | ETHNIC                 |
      | NOT HISPANIC OR LATINO |
    Then the save succeeds

  Scenario: Database lock stops all writes, and waits for open queries
    Given a query is raised on "DM.RACE" at visit "SCREENING1" with message "Please confirm race"
    When the database is locked
    Then the command is rejected with "queries are still open"
    When query 1 is closed
    And the database is locked
    Then the command succeeds
    When the form "DM" at visit "SCREENING1" is saved with:
      | ETHNIC                 |
      | NOT HISPANIC OR LATINO |
    Then the save is rejected with "database is locked"

  Scenario: Medication given through the skin is queried
    When a new row of "CM" on form "CM" at visit "LOGS" is saved with:
      | CMTRT    | CMINDC | CMROUTE            | CMONGO |
      | NICOTINE | SMOKING| TRANSDERMAL        | true   |
    Then a query is open on "CM.CMROUTE" with message "transdermal"

  Scenario: A dose outside the protocol's doses is queried
    Given the form "SV" at visit "BASELINE" is saved with:
      | SVSTDTC    |
      | 2024-01-09 |
    And the form "RAND" at visit "BASELINE" is saved with:
      | RANDDT     |
      | 2024-01-09 |
    When the form "EX" at visit "BASELINE" is saved with:
      | EXSTDTC    | EXDOSE |
      | 2024-01-09 | 60     |
    Then a query is open on "EX.EXDOSE" with message "0, 54 or 81 mg"
